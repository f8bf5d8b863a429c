package app

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/vigil-video/vigil/internal/audit"
	"github.com/vigil-video/vigil/internal/exportsig"
	"github.com/vigil-video/vigil/internal/keys"
)

const verifyUsage = `usage:
  vigil verify --key KEY.pem --sig SIGFILE FILE
      checks a signed export offline: KEY.pem is the hub's public key
      (GET /api/v1/keys/export.pem, or DATA_DIR/keys/hub_ed25519.pub.pem),
      SIGFILE holds the export's Vigil-Signature header value
  vigil verify --audit DATA_DIR
      checks the audit trail of a data directory

exit status: 0 intact, 1 not intact (or it could not be checked), 2 usage error
`

// Exit codes of vigil verify.
const (
	verifyOK       = 0
	verifyFailed   = 1
	verifyUsageErr = 2
)

// verifyArgs are vigil verify's parsed arguments.
type verifyArgs struct {
	key, sig, audit string
	files           []string
}

// runVerify runs `vigil verify` and returns its exit code.
func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	va, err := parseVerifyArgs(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, verifyUsage)
		return verifyOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "vigil verify: %v\n\n%s", err, verifyUsage)
		return verifyUsageErr
	}
	if va.audit != "" {
		return verifyAudit(ctx, va.audit, stdout, stderr)
	}
	return verifyExport(va, stdout, stderr)
}

// parseVerifyArgs parses flags and operands in any order.
func parseVerifyArgs(args []string) (verifyArgs, error) {
	var va verifyArgs
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&va.key, "key", "", "the hub's public key (PEM)")
	fs.StringVar(&va.sig, "sig", "", "file holding the Vigil-Signature value")
	fs.StringVar(&va.audit, "audit", "", "data directory whose audit trail to check")
	for { // flags may also follow FILE
		if err := fs.Parse(args); err != nil {
			return va, err
		}
		if fs.NArg() == 0 {
			break
		}
		va.files = append(va.files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch {
	case va.audit != "" && (va.key != "" || va.sig != "" || len(va.files) > 0):
		return va, errors.New("--audit takes no --key, --sig or FILE")
	case va.audit != "":
		return va, nil
	case va.key == "" || va.sig == "":
		return va, errors.New("--key and --sig are required (or --audit DATA_DIR)")
	case len(va.files) != 1:
		return va, fmt.Errorf("want exactly one FILE, got %d", len(va.files))
	}
	return va, nil
}

// verifyExport checks one signed export file.
func verifyExport(va verifyArgs, stdout, stderr io.Writer) int {
	file := va.files[0]
	pub, err := readPublicKey(va.key)
	if err != nil {
		fmt.Fprintf(stderr, "vigil verify: %v\n", err)
		return verifyUsageErr
	}
	sig, err := readSignature(va.sig)
	if err != nil {
		fmt.Fprintf(stderr, "vigil verify: %v\n", err)
		return verifyUsageErr
	}
	f, err := os.Open(file)
	if err != nil {
		fmt.Fprintf(stderr, "vigil verify: %v\n", err)
		return verifyUsageErr
	}
	defer f.Close()
	m, err := exportsig.Verify(pub, sig, f)
	if err != nil {
		fmt.Fprintf(stderr, "vigil verify: %s is NOT intact: %v\n", file, err)
		return verifyFailed
	}
	fmt.Fprintf(stdout, "%s: intact, signed by key %s\n", file, m.Key)
	for _, l := range []struct{ k, v string }{
		{"camera", m.Camera},
		{"from", m.From.Format(time.RFC3339Nano)},
		{"to", m.To.Format(time.RFC3339Nano)},
		{"exporter", m.Exporter},
		{"reason", m.Reason},
		{"signed", m.Time.Format(time.RFC3339Nano)},
		{"sha256", m.SHA256},
		{"size", strconv.FormatInt(m.Size, 10) + " bytes"},
	} {
		fmt.Fprintf(stdout, "  %-9s %s\n", l.k+":", printable(l.v))
	}
	return verifyOK
}

// readPublicKey reads the hub's public key, telling a private key apart.
func readPublicKey(path string) (ed25519.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	pub, err := keys.ParsePublic(data)
	if err != nil {
		if bytes.Contains(data, []byte("PRIVATE KEY")) {
			return nil, fmt.Errorf("key %s is a private key: give the hub's public key (%s)", path, keys.PublicFile)
		}
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	return pub, nil
}

// readSignature reads a Vigil-Signature value from a file: the value
// alone, or the header line as curl -D writes it.
func readSignature(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read signature: %w", err)
	}
	v := strings.TrimSpace(string(data))
	if name, rest, ok := strings.Cut(v, ":"); ok && strings.EqualFold(strings.TrimSpace(name), exportsig.Header) {
		v = strings.TrimSpace(rest)
	}
	return v, nil
}

// printable quotes s when it holds characters a terminal would act on.
func printable(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// verifyAudit checks the audit trail of a data directory (its database
// read-only, with the hub's public key in DATA_DIR/keys).
func verifyAudit(ctx context.Context, dataDir string, stdout, stderr io.Writer) int {
	if st, err := os.Stat(dataDir); err != nil || !st.IsDir() {
		fmt.Fprintf(stderr, "vigil verify: --audit %s: not a data directory\n", dataDir)
		return verifyUsageErr
	}
	rep, err := audit.VerifyDir(ctx, dataDir)
	if err != nil {
		fmt.Fprintf(stderr, "vigil verify: the audit trail of %s could not be checked: %v\n", dataDir, err)
		return verifyFailed
	}
	if !rep.OK {
		first := "?"
		if rep.FirstBad != nil {
			first = strconv.FormatInt(*rep.FirstBad, 10)
		}
		fmt.Fprintf(stderr, "vigil verify: the audit trail of %s is NOT intact: first bad record %s of %d: %s\n",
			dataDir, first, rep.Records, printable(rep.Reason))
		return verifyFailed
	}
	fmt.Fprintf(stdout, "%s: audit trail intact, %d records\n", dataDir, rep.Records)
	return verifyOK
}

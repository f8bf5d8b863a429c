package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/index/sqlite"
)

// runUser runs `vigil user add NAME --role ROLE [--sites a,b]`. The
// password comes from VIGIL_USER_PASSWORD or is generated and printed once.
func runUser(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) < 2 || args[0] != "add" {
		return errors.New("usage: vigil user add NAME --role ROLE [--sites a,b] [--data DIR]")
	}
	name := args[1]
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	role := fs.String("role", "viewer", "admin, operator, viewer or auditor")
	sites := fs.String("sites", "", "comma-separated site ids (empty: all sites)")
	data := fs.String("data", envOr("VIGIL_DATA", "./vigil-data"), "data directory")
	if err := fs.Parse(args[2:]); err != nil {
		return err
	}
	dir, err := openDataDir(*data)
	if err != nil {
		return fmt.Errorf("%w (stop the hub first, or add users through the API)", err)
	}
	defer dir.close()
	idx, err := sqlite.Open(ctx, dir.indexPath())
	if err != nil {
		return err
	}
	defer idx.Close()
	store, err := auth.NewSQLStore(idx.DB())
	if err != nil {
		return err
	}
	svc, err := auth.New(auth.Config{}, auth.Deps{Store: store})
	if err != nil {
		return err
	}
	pw := os.Getenv("VIGIL_USER_PASSWORD")
	generated := pw == ""
	if generated {
		if pw, err = randomPassword(); err != nil {
			return err
		}
	}
	var scope []string
	if *sites != "" {
		scope = strings.Split(*sites, ",")
	}
	u, err := svc.CreateUser(ctx, auth.NewUser{Username: name, Password: pw, Role: auth.Role(*role), Sites: scope})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created user %s (role %s)\n", u.Username, u.Role)
	if generated {
		fmt.Fprintf(stdout, "password: %s (shown once)\n", pw)
	}
	return nil
}

func randomPassword() (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

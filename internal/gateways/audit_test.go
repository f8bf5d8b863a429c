package gateways

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/audit"
	"github.com/vigil-video/vigil/internal/testutil"
)

// TestAuditTrail: creation, enrolment and revocation are in the real audit
// trail with who, what and which site, and no secret; refusals are not.
func TestAuditTrail(t *testing.T) {
	e := newEnvAudit(t, Config{}, true)
	tok := e.create(t, "gw-n", "north")
	if a := e.do(t, "POST", "/api/v1/gateways", "op", map[string]string{"id": "gw-x", "site": "north"}); a.code != http.StatusForbidden {
		t.Fatalf("operator create: %d", a.code)
	}
	en := e.enrollOK(t, tok)
	e.postEnroll(t, map[string]string{"token": tok}) // refused: reused
	if a := e.do(t, "DELETE", "/api/v1/gateways/gw-n", "root", nil); a.code != http.StatusNoContent {
		t.Fatalf("revoke: %d", a.code)
	}
	ctx := testutil.Context(t, 10*time.Second)
	if err := e.audit.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	page, err := e.audit.List(ctx, audit.Filter{Action: audit.ActionChange})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(page.Records) - 1; i >= 0; i-- { // oldest first
		r := page.Records[i]
		if r.Site != "north" {
			t.Errorf("record %d site %q", r.Seq, r.Site)
		}
		for _, s := range []string{tok, en.Credential, tokenPrefix, credPrefix} {
			if strings.Contains(string(r.Detail), s) {
				t.Fatalf("audit detail holds a secret: %s", r.Detail)
			}
		}
		got = append(got, r.User+" "+string(r.Detail))
	}
	want := []string{
		`root {"method":"POST","resource":"gateways","target":"gw-n"}`,
		`gateway:gw-n {"enrolled":true,"method":"POST","resource":"gateways","target":"gw-n"}`,
		`root {"method":"DELETE","resource":"gateways","revoked":true,"target":"gw-n"}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

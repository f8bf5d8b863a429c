package api

import (
	"testing"

	"github.com/vigil-video/vigil/internal/auth"
)

// BenchmarkAuthorize is the cost of the one authorization decision every
// route and object goes through: the role's permission, then the site
// scope.
func BenchmarkAuthorize(b *testing.B) {
	cases := []struct {
		name string
		p    auth.Principal
		t    target
	}{
		{"admin", auth.Principal{Username: "root", Role: auth.RoleAdmin}, inSite("north-7", "camera")},
		{"scoped operator in scope", auth.Principal{Username: "op", Role: auth.RoleOperator,
			Sites: []string{"a", "b", "c", "north-7"}}, inSite("north-7", "camera")},
		{"scoped operator out of scope", auth.Principal{Username: "op", Role: auth.RoleOperator,
			Sites: []string{"a", "b", "c", "d"}}, inSite("north-7", "camera")},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				_ = authorize(c.p, auth.PermPlayback, c.t)
			}
		})
	}
}

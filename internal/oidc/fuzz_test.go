package oidc

import (
	"encoding/json"
	"testing"

	"github.com/vigil-video/vigil/internal/auth"
)

// FuzzIdentityOf feeds ID token claims (JSON) to the claim parser: it
// never panics, and what it accepts is a valid user name with groups.
func FuzzIdentityOf(f *testing.F) {
	for _, seed := range []string{
		`{"sub":"1","preferred_username":"alice","groups":["ops","view"]}`,
		`{"sub":"2","email":"Bob@Example.test","groups":"ops"}`,
		`{"sub":"3","groups":[1,null,{"a":"b"},"ops"]}`,
		`{"preferred_username":"../../etc","groups":{}}`,
		`{"sub":"` + "\u00e9" + `"}`,
		`[]`,
	} {
		f.Add([]byte(seed))
	}
	s := &Service{cfg: Config{}.withDefaults()}
	f.Fuzz(func(t *testing.T, data []byte) {
		claims := map[string]any{}
		if json.Unmarshal(data, &claims) != nil {
			return
		}
		id, err := s.identityOf("sub", claims)
		if err != nil {
			return
		}
		if !auth.ValidUsername(id.username) {
			t.Fatalf("accepted invalid name %q", id.username)
		}
		m := map[string]GroupRole{"ops": {Role: auth.RoleOperator, Sites: []string{"n"}}}
		if role, _, ok := resolve(m, id.groups); ok && role != auth.RoleOperator {
			t.Fatalf("role %q", role)
		}
	})
}

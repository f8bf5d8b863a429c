package auth

import (
	"slices"
	"testing"
)

func TestRoleCan(t *testing.T) {
	t.Parallel()
	all := []Permission{PermView, PermLive, PermPlayback, PermExport, PermEvents, PermAudit, PermManage, PermMetrics}
	tests := []struct {
		role Role
		want []Permission
	}{
		{RoleAdmin, all},
		{RoleOperator, []Permission{PermView, PermLive, PermPlayback, PermExport, PermEvents}},
		{RoleViewer, []Permission{PermView, PermLive, PermEvents}},
		{RoleAuditor, []Permission{PermAudit}},
		{Role("root"), nil},
		{Role(""), nil},
	}
	for _, tt := range tests {
		t.Run(string(tt.role), func(t *testing.T) {
			t.Parallel()
			for _, p := range all {
				if got, want := tt.role.Can(p), slices.Contains(tt.want, p); got != want {
					t.Errorf("%s.Can(%s) = %v, want %v", tt.role, p, got, want)
				}
			}
			if got := tt.role.Permissions(); !slices.Equal(got, tt.want) {
				t.Errorf("Permissions() = %v, want %v", got, tt.want)
			}
			if got, want := tt.role.Valid(), tt.want != nil; got != want {
				t.Errorf("Valid() = %v", got)
			}
		})
	}
}

func TestPrincipalCanSeeSite(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		sites []string
		site  string
		want  bool
	}{
		{"unscoped any", nil, "north-7", true},
		{"unscoped siteless", nil, "", true},
		{"scoped own", []string{"north-7", "south"}, "south", true},
		{"scoped other", []string{"north-7"}, "south", false},
		{"scoped siteless", []string{"north-7"}, "", false},
		{"scoped prefix", []string{"north"}, "north-7", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := Principal{Username: "u", Role: RoleViewer, Sites: tt.sites}
			if got := p.CanSeeSite(tt.site); got != tt.want {
				t.Errorf("CanSeeSite(%q) = %v, want %v", tt.site, got, tt.want)
			}
		})
	}
}

func TestValidUsername(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"admin": true, "ann.smith": true, "a": true, "0x-_": true,
		"": false, "Ann": false, "-a": false, "a b": false, "../x": false, "a'; --": false,
		"a123456789012345678901234567890123456789012345678901234567890123":  true,
		"a1234567890123456789012345678901234567890123456789012345678901234": false,
	}
	for name, want := range tests {
		if got := ValidUsername(name); got != want {
			t.Errorf("ValidUsername(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestAuthorize(t *testing.T) {
	op := Principal{Username: "op", Role: RoleOperator, Sites: []string{"north"}}
	all := Principal{Username: "root", Role: RoleAdmin}
	cases := []struct {
		name   string
		p      Principal
		perm   Permission
		inSite bool
		site   string
		want   Decision
	}{
		{"nobody", Principal{}, "", false, "", Unauthenticated},
		{"any principal, no site", op, "", false, "", Allowed},
		{"in scope", op, PermPlayback, true, "north", Allowed},
		{"out of scope", op, PermPlayback, true, "south", OutOfScope},
		{"no site on a scoped principal", op, PermLive, true, "", OutOfScope},
		{"role lacks the permission (checked first)", op, PermManage, true, "south", Forbidden},
		{"auditor sees no video", Principal{Username: "aud", Role: RoleAuditor}, PermLive, true, "north", Forbidden},
		{"unscoped admin anywhere", all, PermManage, true, "south", Allowed},
	}
	for _, c := range cases {
		if got := Authorize(c.p, c.perm, c.inSite, c.site); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

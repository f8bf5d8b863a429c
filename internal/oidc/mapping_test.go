package oidc

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/auth"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	m := map[string]GroupRole{
		"ops-north":   {Role: auth.RoleOperator, Sites: []string{"north-7", "north-8"}},
		"ops-south":   {Role: auth.RoleOperator, Sites: []string{"south", "north-7"}},
		"ops-all":     {Role: auth.RoleOperator},
		"view-east":   {Role: auth.RoleViewer, Sites: []string{"east"}},
		"auditors":    {Role: auth.RoleAuditor},
		"admins":      {Role: auth.RoleAdmin},
		"bogus-empty": {},
	}
	cases := []struct {
		name   string
		groups []string
		role   auth.Role
		sites  []string
		ok     bool
	}{
		{name: "no groups"},
		{name: "unmapped only", groups: []string{"staff", "everyone"}},
		{name: "invalid role maps to nothing", groups: []string{"bogus-empty"}},
		{name: "one group", groups: []string{"ops-north"}, role: auth.RoleOperator, sites: []string{"north-7", "north-8"}, ok: true},
		{name: "same role: sites united", groups: []string{"ops-north", "ops-south"}, role: auth.RoleOperator,
			sites: []string{"north-7", "north-8", "south"}, ok: true},
		{name: "same role, one unscoped: every site", groups: []string{"ops-north", "ops-all"}, role: auth.RoleOperator, ok: true},
		{name: "unscoped first", groups: []string{"ops-all", "ops-north"}, role: auth.RoleOperator, ok: true},
		{name: "highest role wins, lower role's sites dropped", groups: []string{"view-east", "ops-north"},
			role: auth.RoleOperator, sites: []string{"north-7", "north-8"}, ok: true},
		{name: "lower role after higher ignored", groups: []string{"ops-north", "view-east", "auditors"},
			role: auth.RoleOperator, sites: []string{"north-7", "north-8"}, ok: true},
		{name: "auditor", groups: []string{"auditors", "staff"}, role: auth.RoleAuditor, ok: true},
		{name: "admin only from an admin group", groups: []string{"ops-north", "admins"}, role: auth.RoleAdmin, ok: true},
		{name: "group names are case-sensitive", groups: []string{"ADMINS"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			role, sites, ok := resolve(m, tc.groups)
			if ok != tc.ok || role != tc.role || !slices.Equal(sites, tc.sites) {
				t.Fatalf("got %q %q %v, want %q %q %v", role, sites, ok, tc.role, tc.sites, tc.ok)
			}
		})
	}
}

func TestGroupsOf(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   any
		want []string
	}{
		{nil, nil},
		{"ops", []string{"ops"}},
		{[]any{"ops", 3.0, "view", nil}, []string{"ops", "view"}},
		{map[string]any{"ops": true}, nil},
		{42.0, nil},
	}
	for _, tc := range cases {
		if got := groupsOf(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("groupsOf(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestIdentityOf(t *testing.T) {
	t.Parallel()
	s := &Service{cfg: Config{}.withDefaults()}
	cases := []struct {
		name   string
		claims map[string]any
		want   string
		ok     bool
	}{
		{name: "preferred_username", claims: map[string]any{"preferred_username": "Alice", "email": "a@x.test", "sub": "1"}, want: "alice", ok: true},
		{name: "email fallback", claims: map[string]any{"email": "Bob@Example.test", "sub": "2"}, want: "bob_at_example.test", ok: true},
		{name: "sub fallback", claims: map[string]any{"sub": "248289761001"}, want: "248289761001", ok: true},
		{name: "empty preferred_username falls back", claims: map[string]any{"preferred_username": "", "sub": "x1"}, want: "x1", ok: true},
		{name: "non-string ignored", claims: map[string]any{"preferred_username": 7.0, "sub": "x2"}, want: "x2", ok: true},
		{name: "invalid name", claims: map[string]any{"preferred_username": "a b/../c", "sub": "x"}},
		{name: "too long", claims: map[string]any{"preferred_username": strings.Repeat("a", 65)}},
		{name: "nothing", claims: map[string]any{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, err := s.identityOf("sub", tc.claims)
			if (err == nil) != tc.ok || id.username != tc.want {
				t.Fatalf("got %q %v, want %q ok=%v", id.username, err, tc.want, tc.ok)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	good := Config{Issuer: "https://idp.test", ClientID: "vigil", RedirectURL: "https://hub.test/api/v1/oidc/callback",
		Groups: map[string]GroupRole{"ops": {Role: auth.RoleOperator, Sites: []string{"north"}}}}
	cases := []struct {
		name   string
		mutate func(*Config)
		want   string // "" : valid
	}{
		{name: "good", mutate: func(*Config) {}},
		{name: "no issuer", mutate: func(c *Config) { c.Issuer = "" }, want: "issuer"},
		{name: "issuer not a URL", mutate: func(c *Config) { c.Issuer = "idp.test" }, want: "issuer"},
		{name: "issuer ftp", mutate: func(c *Config) { c.Issuer = "ftp://idp.test" }, want: "issuer"},
		{name: "no client id", mutate: func(c *Config) { c.ClientID = "" }, want: "client_id"},
		{name: "relative redirect", mutate: func(c *Config) { c.RedirectURL = "/cb" }, want: "redirect_url"},
		{name: "no groups", mutate: func(c *Config) { c.Groups = nil }, want: "groups"},
		{name: "bad role", mutate: func(c *Config) { c.Groups["x"] = GroupRole{Role: "root"} }, want: `groups["x"]: role`},
		{name: "scoped admin", mutate: func(c *Config) { c.Groups["a"] = GroupRole{Role: auth.RoleAdmin, Sites: []string{"n"}} },
			want: "never limited"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			c.Groups = map[string]GroupRole{"ops": good.Groups["ops"]}
			tc.mutate(&c)
			_, err := New(c, Deps{Auth: &auth.Service{}})
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
	d := good.withDefaults()
	if !slices.Equal(d.Scopes, []string{"openid", "profile", "email", "groups"}) || d.GroupsClaim != "groups" ||
		d.UsernameClaim != "preferred_username" || d.AfterLogin != "/" {
		t.Fatalf("defaults: %+v", d)
	}
	if d := (Config{Scopes: []string{"email"}}).withDefaults(); !slices.Equal(d.Scopes, []string{"openid", "email"}) {
		t.Fatalf("openid not added: %q", d.Scopes)
	}
}

func TestPendingLogins(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := newPendingLogins(2, time.Minute)
	if !p.put("a", pendingLogin{nonce: "na"}, now) || !p.put("b", pendingLogin{nonce: "nb"}, now) {
		t.Fatal("put refused")
	}
	if p.put("c", pendingLogin{}, now.Add(30*time.Second)) {
		t.Fatal("third login accepted over the cap")
	}
	if l, ok := p.take("a", now.Add(59*time.Second)); !ok || l.nonce != "na" {
		t.Fatalf("take a: %+v %v", l, ok)
	}
	if _, ok := p.take("a", now); ok {
		t.Fatal("a taken twice")
	}
	// b has expired: room is made for c, and b is gone.
	if !p.put("c", pendingLogin{}, now.Add(2*time.Minute)) {
		t.Fatal("expired entries not pruned")
	}
	if _, ok := p.take("b", now.Add(2*time.Minute)); ok {
		t.Fatal("expired b taken")
	}
	if _, ok := p.take("c", now.Add(3*time.Minute+time.Second)); ok {
		t.Fatal("c taken after expiry")
	}
	if p.len() != 0 {
		t.Fatalf("%d left", p.len())
	}
}

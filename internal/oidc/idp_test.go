package oidc

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/example/server/storage"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// The test identity provider is zitadel/oidc's OpenID provider (pkg/op)
// over its in-memory example storage, started on 127.0.0.1. Its login
// step is a shortcut that signs in whichever test user idp.as names, and
// its storage adds the user's groups to the ID token. tamper makes it
// issue bad ID tokens on purpose.

// idpUser is a user of the test provider.
type idpUser struct {
	id, username string
	groups       []string
}

// tamper breaks the next ID tokens.
type tamper struct {
	nonce    string        // replaces the nonce of the auth request
	audience []string      // replaces the audience
	lifetime time.Duration // when non-zero, the ID token lifetime (negative: expired)
	rogueKey bool          // sign with a key the provider does not publish
}

type idp struct {
	url     string
	storage *idpStorage
	mu      sync.Mutex
	as      string // username the login shortcut signs in
}

func (p *idp) signInAs(username string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.as = username
}

func (p *idp) setTamper(t tamper) {
	p.storage.mu.Lock()
	defer p.storage.mu.Unlock()
	p.storage.tamper = t
}

// userStore implements storage.UserStore over the test users.
type userStore struct{ byID, byName map[string]*storage.User }

func (u userStore) GetUserByID(id string) *storage.User      { return u.byID[id] }
func (u userStore) GetUserByUsername(n string) *storage.User { return u.byName[n] }
func (u userStore) ExampleClientID() string                  { return "service" }

// idpStorage is the example storage plus groups and tampering.
type idpStorage struct {
	*storage.Storage
	groups map[string][]string // by user id
	rogue  *rsa.PrivateKey
	mu     sync.Mutex
	tamper tamper
}

func (s *idpStorage) current() tamper {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tamper
}

// SetUserinfoFromRequest adds the groups claim to ID tokens.
func (s *idpStorage) SetUserinfoFromRequest(ctx context.Context, ui *zoidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, ui, req, scopes); err != nil {
		return err
	}
	ui.AppendClaims("groups", s.groups[req.GetSubject()])
	return nil
}

type tamperedRequest struct {
	op.AuthRequest
	t tamper
}

func (r tamperedRequest) GetNonce() string {
	if r.t.nonce != "" {
		return r.t.nonce
	}
	return r.AuthRequest.GetNonce()
}

func (r tamperedRequest) GetAudience() []string {
	if r.t.audience != nil {
		return r.t.audience
	}
	return r.AuthRequest.GetAudience()
}

func (s *idpStorage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	r, err := s.Storage.AuthRequestByCode(ctx, code)
	if err != nil {
		return nil, err
	}
	return tamperedRequest{AuthRequest: r, t: s.current()}, nil
}

type tamperedClient struct {
	op.Client
	lifetime time.Duration
}

func (c tamperedClient) IDTokenLifetime() time.Duration { return c.lifetime }

func (s *idpStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	if t := s.current(); t.lifetime != 0 {
		return tamperedClient{Client: c, lifetime: t.lifetime}, nil
	}
	return c, nil
}

type rogueKey struct{ k *rsa.PrivateKey }

func (k rogueKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k rogueKey) Key() any                                    { return k.k }
func (k rogueKey) ID() string                                  { return "rogue" }

func (s *idpStorage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	if s.current().rogueKey {
		return rogueKey{s.rogue}, nil
	}
	return s.Storage.SigningKey(ctx)
}

// startIDP starts the provider with one confidential client (clientID,
// secret) whose redirect URI is redirect.
func startIDP(t *testing.T, clientID, secret, redirect string, users ...idpUser) *idp {
	t.Helper()
	us := userStore{byID: map[string]*storage.User{}, byName: map[string]*storage.User{}}
	groups := map[string][]string{}
	for _, u := range users {
		su := &storage.User{ID: u.id, Username: u.username, Password: "pw-" + u.id,
			Email: u.username + "@example.test", EmailVerified: true}
		us.byID[u.id], us.byName[u.username] = su, su
		groups[u.id] = u.groups
	}
	clients := map[string]*storage.Client{clientID: storage.WebClient(clientID, secret, redirect)}
	rogue, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	st := &idpStorage{Storage: storage.NewStorageWithClients(us, clients), groups: groups, rogue: rogue}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	p := &idp{url: srv.URL, storage: st}
	provider, err := op.NewOpenIDProvider(srv.URL, &op.Config{
		CryptoKey:      sha256.Sum256([]byte("vigil oidc test")),
		CodeMethodS256: true,
	}, st, op.WithAllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	// The login shortcut: no form, the test user is signed in at once.
	mux.HandleFunc("/login/username", func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("authRequestID")
		p.mu.Lock()
		name := p.as
		p.mu.Unlock()
		u := us.byName[name]
		if u == nil {
			http.Error(w, "no such test user", http.StatusForbidden)
			return
		}
		if err := st.CheckUsernamePassword(u.Username, u.Password, id); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		http.Redirect(w, r, op.AuthCallbackURL(provider)(r.Context(), id), http.StatusFound)
	})
	mux.Handle("/", provider)
	return p
}

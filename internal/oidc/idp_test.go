package oidc

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
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
	lifetime time.Duration // when non-zero, the ID token lifetime (negative: expired)
	rogueKey bool          // sign with a key the provider does not publish
	// claims, when set, rewrites the claims of the ID token the token
	// endpoint answers, re-signed with the provider's own published key
	// (for claims the provider would never get wrong itself).
	claims func(map[string]any)
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

// startIDP starts the provider with a confidential client (clientID,
// secret) and a public (native, PKCE only) client publicClientID, both
// redirecting to redirect.
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
	clients := map[string]*storage.Client{
		clientID:       storage.WebClient(clientID, secret, redirect),
		publicClientID: storage.NativeClient(publicClientID, redirect),
	}
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
	mux.Handle("/", p.rewriteIDToken(provider))
	return p
}

// rewriteIDToken applies tamper.claims to the token endpoint's ID token.
func (p *idp) rewriteIDToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mutate := p.storage.current().claims
		if r.URL.Path != "/oauth/token" || mutate == nil {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if rec.Code == http.StatusOK {
			var err error
			if body, err = p.resign(r.Context(), body, mutate); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		for k, v := range rec.Header() {
			if k != "Content-Length" {
				w.Header()[k] = v
			}
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	})
}

func (p *idp) resign(ctx context.Context, body []byte, mutate func(map[string]any)) ([]byte, error) {
	var res map[string]any
	if err := json.Unmarshal(body, &res); err != nil {
		return nil, err
	}
	raw, _ := res["id_token"].(string)
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, err
	}
	claims := map[string]any{}
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &claims); err != nil {
		return nil, err
	}
	mutate(claims)
	key, err := p.storage.Storage.SigningKey(ctx)
	if err != nil {
		return nil, err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: key.SignatureAlgorithm(), Key: key.Key()},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", key.ID()))
	if err != nil {
		return nil, err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return nil, err
	}
	signed, err := signer.Sign(payload)
	if err != nil {
		return nil, err
	}
	if res["id_token"], err = signed.CompactSerialize(); err != nil {
		return nil, err
	}
	return json.Marshal(res)
}

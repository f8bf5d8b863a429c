package auth

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestSQLStoreUsers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	now := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	u := User{Username: "ann", PasswordHash: "h", Role: RoleViewer, Sites: []string{"a", "b"}, CreatedAt: now, UpdatedAt: now}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(ctx, u); !errors.Is(err, ErrConflict) {
		t.Fatalf("dup create: %v", err)
	}
	got, err := st.GetUser(ctx, "ann")
	if err != nil {
		t.Fatal(err)
	}
	if got.Username != "ann" || got.Role != RoleViewer || !slices.Equal(got.Sites, u.Sites) || !got.CreatedAt.Equal(now) {
		t.Fatalf("got %+v", got)
	}
	if _, err := st.GetUser(ctx, "bob"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	got.Role, got.Sites = RoleOperator, nil
	if err := st.UpdateUser(ctx, got); err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateUser(ctx, User{Username: "bob"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update missing: %v", err)
	}
	if err := st.CreateUser(ctx, User{Username: "zed", PasswordHash: "h", Role: RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	list, err := st.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Username != "ann" || list[0].Role != RoleOperator || len(list[0].Sites) != 0 {
		t.Fatalf("list = %+v", list)
	}
}

func TestSQLStoreDeleteUserCascades(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	now := time.Now()
	must(t, st.CreateUser(ctx, User{Username: "ann", PasswordHash: "h", Role: RoleViewer}))
	must(t, st.CreateSession(ctx, Session{IDHash: "s1", Username: "ann", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	must(t, st.CreateToken(ctx, Token{ID: "t1", Username: "ann", Name: "n", Hash: "th", CreatedAt: now}))
	must(t, st.DeleteUser(ctx, "ann"))
	if _, err := st.GetSession(ctx, "s1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("session survived: %v", err)
	}
	if _, err := st.GetTokenByHash(ctx, "th"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("token survived: %v", err)
	}
	if err := st.DeleteUser(ctx, "ann"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestSQLStoreSessionsTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	must(t, st.CreateSession(ctx, Session{IDHash: "old", Username: "ann", CreatedAt: now, ExpiresAt: now.Add(time.Minute)}))
	must(t, st.CreateSession(ctx, Session{IDHash: "new", Username: "ann", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	must(t, st.CreateToken(ctx, Token{ID: "t1", Username: "ann", Name: "ci", Hash: "h1", CreatedAt: now, ExpiresAt: now.Add(time.Minute)}))
	must(t, st.CreateToken(ctx, Token{ID: "t2", Username: "ann", Name: "forever", Hash: "h2", CreatedAt: now.Add(time.Second)}))
	must(t, st.CreateToken(ctx, Token{ID: "t3", Username: "bob", Name: "x", Hash: "h3", CreatedAt: now}))
	if err := st.CreateToken(ctx, Token{ID: "t4", Username: "bob", Name: "x", Hash: "h3", CreatedAt: now}); !errors.Is(err, ErrConflict) {
		t.Fatalf("dup hash: %v", err)
	}
	toks, err := st.ListTokens(ctx, "ann")
	if err != nil || len(toks) != 2 || toks[0].ID != "t1" || toks[1].ExpiresAt != (time.Time{}) {
		t.Fatalf("list = %+v, %v", toks, err)
	}
	must(t, st.DeleteExpired(ctx, now.Add(2*time.Minute)))
	if _, err := st.GetSession(ctx, "old"); !errors.Is(err, ErrNotFound) {
		t.Fatal("expired session kept")
	}
	if _, err := st.GetSession(ctx, "new"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetTokenByHash(ctx, "h1"); !errors.Is(err, ErrNotFound) {
		t.Fatal("expired token kept")
	}
	if _, err := st.GetTokenByHash(ctx, "h2"); err != nil {
		t.Fatal("non-expiring token deleted")
	}
	if err := st.DeleteToken(ctx, "ann", "t3"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleting someone else's token: %v", err)
	}
	must(t, st.DeleteToken(ctx, "bob", "t3"))
	must(t, st.DeleteUserSessions(ctx, "ann"))
	if _, err := st.GetSession(ctx, "new"); !errors.Is(err, ErrNotFound) {
		t.Fatal("user sessions kept")
	}
	must(t, st.DeleteSession(ctx, "nonexistent"))
}

func TestSQLStoreMigrationsIdempotent(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	for range 2 {
		if _, err := NewSQLStore(db); err != nil {
			t.Fatal(err)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"
)

// BootstrapUser is the name of the user Bootstrap creates.
const BootstrapUser = "admin"

// bootstrapStore is what Bootstrap needs.
type bootstrapStore interface {
	ListUsers(ctx context.Context) ([]User, error)
	CreateUser(ctx context.Context, u User) error
}

// Bootstrap makes sure a fresh installation can be logged into: when no
// user exists it creates BootstrapUser as admin. Its password is
// adminPassword (the value of VIGIL_ADMIN_PASSWORD) when that is not empty;
// otherwise a random one is generated and returned, for the caller to show
// once. Nothing here logs it. When users already exist, or another process
// created the admin first, Bootstrap does nothing and returns "".
func Bootstrap(ctx context.Context, store bootstrapStore, adminPassword string) (generated string, err error) {
	users, err := store.ListUsers(ctx)
	if err != nil {
		return "", fmt.Errorf("bootstrap: %w", err)
	}
	if len(users) > 0 {
		return "", nil
	}
	pw := adminPassword
	if pw == "" {
		pw = rand.Text() // 26 base32 characters, 128 bits
	} else if err := checkPassword(pw); err != nil {
		return "", fmt.Errorf("bootstrap: VIGIL_ADMIN_PASSWORD: %w", err)
	}
	hash, err := HashPassword(Argon2Params{}, pw)
	if err != nil {
		return "", fmt.Errorf("bootstrap: %w", err)
	}
	now := time.Now().UTC()
	err = store.CreateUser(ctx, User{Username: BootstrapUser, PasswordHash: hash, Role: RoleAdmin, CreatedAt: now, UpdatedAt: now})
	if errors.Is(err, ErrConflict) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("bootstrap: %w", err)
	}
	if adminPassword != "" {
		return "", nil
	}
	return pw, nil
}

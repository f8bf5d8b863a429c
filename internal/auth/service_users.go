package auth

import (
	"context"
	"fmt"
	"slices"
)

// NewUser is a user to create.
type NewUser struct {
	Username string
	Password string
	Role     Role
	Sites    []string
}

// UserPatch changes a user; nil fields stay as they are.
type UserPatch struct {
	Password *string
	Role     *Role
	Sites    *[]string
}

// CreateUser validates and stores a new user.
func (s *Service) CreateUser(ctx context.Context, nu NewUser) (User, error) {
	if !ValidUsername(nu.Username) {
		return User{}, inputErr("username", "must be 1-64 of a-z 0-9 . _ - starting with a letter or digit")
	}
	if err := checkPassword(nu.Password); err != nil {
		return User{}, err
	}
	if err := checkRoleSites(nu.Role, nu.Sites); err != nil {
		return User{}, err
	}
	hash, err := HashPassword(s.cfg.Hash, nu.Password)
	if err != nil {
		return User{}, err
	}
	now := s.now()
	u := User{Username: nu.Username, PasswordHash: hash, Role: nu.Role, Sites: dedup(nu.Sites), CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return User{}, err
	}
	s.log.Info("user created", "user", u.Username, "role", u.Role)
	return u, nil
}

func checkRoleSites(r Role, sites []string) error {
	if !r.Valid() {
		return inputErr("role", "must be admin, operator, viewer or auditor")
	}
	if r == RoleAdmin && len(sites) > 0 {
		return inputErr("sites", "an admin is never limited to sites")
	}
	return validSites(sites)
}

func dedup(sites []string) []string {
	out := slices.Clone(sites)
	slices.Sort(out)
	return slices.Compact(out)
}

// GetUser returns a user.
func (s *Service) GetUser(ctx context.Context, username string) (User, error) {
	return s.store.GetUser(ctx, username)
}

// ListUsers returns every user.
func (s *Service) ListUsers(ctx context.Context) ([]User, error) {
	return s.store.ListUsers(ctx)
}

// UpdateUser applies p to a user. A new password ends the user's sessions.
// Demoting the last admin fails with ErrLastAdmin.
func (s *Service) UpdateUser(ctx context.Context, username string, p UserPatch) (User, error) {
	s.usersMu.Lock()
	defer s.usersMu.Unlock()
	u, err := s.store.GetUser(ctx, username)
	if err != nil {
		return User{}, err
	}
	wasAdmin := u.Role == RoleAdmin
	if err := s.applyPatch(&u, p); err != nil {
		return User{}, err
	}
	if wasAdmin && u.Role != RoleAdmin {
		if err := s.keepAnAdmin(ctx, username); err != nil {
			return User{}, err
		}
	}
	u.UpdatedAt = s.now()
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return User{}, err
	}
	if p.Password != nil {
		if err := s.store.DeleteUserSessions(ctx, username); err != nil {
			return User{}, err
		}
	}
	s.log.Info("user updated", "user", username, "role", u.Role, "password_changed", p.Password != nil)
	return u, nil
}

func (s *Service) applyPatch(u *User, p UserPatch) error {
	if p.Role != nil {
		u.Role = *p.Role
	}
	if p.Sites != nil {
		u.Sites = dedup(*p.Sites)
	}
	if err := checkRoleSites(u.Role, u.Sites); err != nil {
		return err
	}
	if p.Password == nil {
		return nil
	}
	if err := checkPassword(*p.Password); err != nil {
		return err
	}
	hash, err := HashPassword(s.cfg.Hash, *p.Password)
	if err != nil {
		return err
	}
	u.PasswordHash = hash
	return nil
}

// keepAnAdmin returns ErrLastAdmin unless an admin other than username
// exists. s.usersMu must be held.
func (s *Service) keepAnAdmin(ctx context.Context, username string) error {
	users, err := s.store.ListUsers(ctx)
	if err != nil {
		return err
	}
	for _, o := range users {
		if o.Role == RoleAdmin && o.Username != username {
			return nil
		}
	}
	return fmt.Errorf("change user %s: %w", username, ErrLastAdmin)
}

// DeleteUser removes a user with its sessions and tokens. Deleting the
// last admin fails with ErrLastAdmin.
func (s *Service) DeleteUser(ctx context.Context, username string) error {
	s.usersMu.Lock()
	defer s.usersMu.Unlock()
	u, err := s.store.GetUser(ctx, username)
	if err != nil {
		return err
	}
	if u.Role == RoleAdmin {
		if err := s.keepAnAdmin(ctx, username); err != nil {
			return err
		}
	}
	if err := s.store.DeleteUser(ctx, username); err != nil {
		return err
	}
	s.log.Info("user deleted", "user", username)
	return nil
}

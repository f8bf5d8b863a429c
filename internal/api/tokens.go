package api

import "github.com/vigil-video/vigil/internal/auth"

// tokenJSON describes a bearer token; Token (the secret) is set only in
// the answer that creates it.
type tokenJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Token     string `json:"token,omitempty"`
	CreatedAt string `json:"created_at"`
	ExpiresAt string `json:"expires_at,omitempty"`
}

func toTokenJSON(t auth.Token) tokenJSON {
	return tokenJSON{ID: t.ID, Name: t.Name, CreatedAt: fmtTime(t.CreatedAt), ExpiresAt: fmtTime(t.ExpiresAt)}
}

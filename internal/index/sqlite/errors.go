package sqlite

import (
	"fmt"

	"github.com/vigil-video/vigil/internal/index"
)

// notFoundErr says which thing was missing, wrapping index.ErrNotFound.
func notFoundErr(what string) error {
	return fmt.Errorf("%s: %w", what, index.ErrNotFound)
}

// conflictErr says which thing conflicted, wrapping index.ErrConflict.
func conflictErr(what string) error {
	return fmt.Errorf("%s: %w", what, index.ErrConflict)
}

// invalidErr reports a bad argument, wrapping index.ErrInvalid.
func invalidErr(what string) error {
	return fmt.Errorf("%s: %w", what, index.ErrInvalid)
}

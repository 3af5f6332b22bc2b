// Package authstore holds what team mode's authentication keeps: users,
// refresh tokens and API tokens, the small interfaces a store implements for
// each, and the errors those stores return. The service that issues and
// checks tokens (internal/auth) works on these; store/sqlstore and
// internal/auth's MemoryStore implement them. It is public, unlike the
// service, because store/sqlstore, a public package, implements it.
package authstore

import (
	"context"
	"errors"
	"time"
)

// Errors stores return; callers branch with errors.Is. internal/auth
// exports the same values under the same names.
var (
	ErrConflict = errors.New("already exists")
	ErrNotFound = errors.New("not found")
	// ErrTokenRevoked: SaveAPIToken with a revoked parent; the service
	// returns it too, for a revoked token presented to it.
	ErrTokenRevoked = errors.New("token revoked: log in again or create a new API token")
)

// User is an account of team mode.
type User struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Admin        bool      `json:"admin"`
	PasswordHash []byte    `json:"-"` // bcrypt
	CreatedAt    time.Time `json:"created_at"`
}

// RefreshToken is the stored form of a refresh token. Every login starts a
// family; each rotation adds a token to it whose parent is the token it
// replaced.
type RefreshToken struct {
	Hash       string // hex SHA-256 of the token; the token itself is never stored
	FamilyID   string
	ParentHash string // "" for the token issued by the login
	UserID     string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	UsedAt     time.Time // zero until rotated
	RevokedAt  time.Time // zero unless its family was revoked
}

// APIToken is the stored form of a long-lived API token, as listed to users.
type APIToken struct {
	ID      string `json:"id"`
	OwnerID string `json:"owner_id"`
	Name    string `json:"name"`
	// ParentID is the API token this one was minted with (only an admin
	// may mint with one); "" for a token made from a login session.
	// Revoking a token revokes every token minted with it, transitively.
	ParentID   string    `json:"parent_id,omitempty"`
	Hash       string    `json:"-"` // hex SHA-256 of the token; the token itself is never stored
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"` // kept to the minute
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
}

// Store is what team mode's auth keeps. Lookups of missing records return an error
// wrapping ErrNotFound. Records are passed by pointer but stores keep their
// own copies.
type Store interface {
	UserStore
	RefreshTokenStore
	APITokenStore
}

// UserStore keeps users.
type UserStore interface {
	// CreateUser fails with ErrConflict if the name is taken.
	CreateUser(ctx context.Context, u *User) error
	UserByID(ctx context.Context, id string) (*User, error)
	UserByName(ctx context.Context, name string) (*User, error)
	// ListUsers returns users ordered by name.
	ListUsers(ctx context.Context) ([]*User, error)
	// DeleteUser also deletes the user's refresh and API tokens.
	DeleteUser(ctx context.Context, id string) error
}

// RefreshTokenStore keeps refresh tokens.
type RefreshTokenStore interface {
	SaveRefreshToken(ctx context.Context, t *RefreshToken) error
	// ConsumeRefreshToken sets UsedAt to at if it is zero and returns the token
	// as it was before, atomically: of concurrent calls, only one sees a zero
	// UsedAt. RevokedAt is set when any token of the family is revoked, even
	// one revoked before this token was saved.
	ConsumeRefreshToken(ctx context.Context, hash string, at time.Time) (*RefreshToken, error)
	// RevokeRefreshFamily sets RevokedAt on every token of the family.
	RevokeRefreshFamily(ctx context.Context, familyID string, at time.Time) error
}

// APITokenStore keeps API tokens.
type APITokenStore interface {
	// SaveAPIToken fails with ErrConflict if the ID or the hash is taken,
	// or if the owner has an unrevoked token of the same name. A token
	// with a ParentID is saved only if that token exists (ErrNotFound)
	// and is not revoked (ErrTokenRevoked), atomically with respect to
	// RevokeAPIToken: of a save and a revocation of its parent racing,
	// either the save fails or the new token is revoked too.
	SaveAPIToken(ctx context.Context, t *APIToken) error
	APITokenByID(ctx context.Context, id string) (*APIToken, error)
	APITokenByHash(ctx context.Context, hash string) (*APIToken, error)
	// ListAPITokens returns the owner's tokens, revoked ones included, oldest first.
	ListAPITokens(ctx context.Context, ownerID string) ([]*APIToken, error)
	// RevokeAPIToken sets RevokedAt unless it is already set, on the
	// token and on every token minted with it (ParentID), transitively.
	RevokeAPIToken(ctx context.Context, id string, at time.Time) error
	// TouchAPIToken sets LastUsedAt.
	TouchAPIToken(ctx context.Context, id string, at time.Time) error
}

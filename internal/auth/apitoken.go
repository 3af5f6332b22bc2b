package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// lastUsedResolution limits the writes that recording API token use costs:
// LastUsedAt is updated at most once per this interval.
const lastUsedResolution = time.Minute

// CreateAPIToken makes a long-lived token for owner, named for the user's
// benefit ("ci-nightly"). The token ("mpt_" and 43 base64url characters) is
// returned only here; only its hash is stored.
func (s *Service) CreateAPIToken(ctx context.Context, owner *User, name string) (string, *APIToken, error) {
	if n := utf8.RuneCountInString(name); n < 1 || n > 64 || strings.TrimSpace(name) != name ||
		strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return "", nil, fmt.Errorf("%w: token names have 1 to 64 printable characters, without leading or trailing spaces", ErrInvalidName)
	}
	token := newSecret(APITokenPrefix)
	info := &APIToken{
		ID:        newID(),
		OwnerID:   owner.ID,
		Name:      name,
		Hash:      hashToken(token),
		CreatedAt: s.now().UTC(),
	}
	if err := s.store.SaveAPIToken(ctx, info); err != nil {
		return "", nil, fmt.Errorf("save API token: %w", err)
	}
	return token, info, nil
}

// ListAPITokens returns owner's API tokens, revoked ones included, oldest first.
func (s *Service) ListAPITokens(ctx context.Context, owner *User) ([]*APIToken, error) {
	ts, err := s.store.ListAPITokens(ctx, owner.ID)
	if err != nil {
		return nil, fmt.Errorf("list API tokens: %w", err)
	}
	return ts, nil
}

// RevokeAPIToken revokes the token with the ID. Users can revoke their own
// tokens, admins anyone's. Revoking a revoked token does nothing.
func (s *Service) RevokeAPIToken(ctx context.Context, actor *User, id string) error {
	t, err := s.store.APITokenByID(ctx, id)
	if err != nil {
		return fmt.Errorf("revoke API token: %w", err)
	}
	if t.OwnerID != actor.ID && !actor.Admin {
		return fmt.Errorf("revoke API token %q: %w", id, ErrForbidden)
	}
	if err := s.store.RevokeAPIToken(ctx, id, s.now().UTC()); err != nil {
		return fmt.Errorf("revoke API token: %w", err)
	}
	return nil
}

func (s *Service) authenticateAPIToken(ctx context.Context, token string) (*Principal, error) {
	if !validSecret(APITokenPrefix, token) {
		return nil, fmt.Errorf("%w: malformed API token", ErrUnauthenticated)
	}
	t, err := s.store.APITokenByHash(ctx, hashToken(token))
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, fmt.Errorf("%w: unknown API token", ErrUnauthenticated)
	case err != nil:
		return nil, fmt.Errorf("look up API token: %w", err)
	case !t.RevokedAt.IsZero():
		return nil, fmt.Errorf("API token %q: %w", t.Name, ErrTokenRevoked)
	}
	u, err := s.user(ctx, t.OwnerID)
	if err != nil {
		return nil, err
	}
	if now := s.now().UTC(); now.Sub(t.LastUsedAt) >= lastUsedResolution {
		// A failed write must not lock CI out: log it and go on.
		if err := s.store.TouchAPIToken(ctx, t.ID, now); err != nil {
			s.log.WarnContext(ctx, "record API token use", logKeyToken, t.ID, logKeyErr, err)
		}
	}
	return &Principal{User: u, Via: ViaAPIToken}, nil
}

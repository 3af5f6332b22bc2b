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
// benefit ("ci-nightly"): names are unique among the owner's unrevoked
// tokens (ErrConflict). The token ("mpt_" and 43 base64url characters) is
// returned only here; only its hash is stored. It is the call of a login
// session (or of the server's operator); a request's caller goes through
// MintAPIToken, which checks how it authenticated.
func (s *Service) CreateAPIToken(ctx context.Context, owner *User, name string) (string, *APIToken, error) {
	return s.createAPIToken(ctx, owner, name, "")
}

// ErrMintWithAPIToken refuses a non-admin's API token minting another:
// a leaked CI token must not be able to make copies of itself that outlive
// its revocation.
var ErrMintWithAPIToken = fmt.Errorf("%w: API tokens are created from a login session (log in with your password), not with another API token", ErrForbidden)

// MintAPIToken makes an API token for the caller p, as CreateAPIToken: from
// a login session (an access token), or, for an admin only, with an API
// token, which is then recorded as its parent so that revoking that token
// revokes this one too. A non-admin's API token gets ErrMintWithAPIToken.
func (s *Service) MintAPIToken(ctx context.Context, p *Principal, name string) (string, *APIToken, error) {
	parent := ""
	if p.Via == ViaAPIToken {
		if !p.User.Admin {
			return "", nil, ErrMintWithAPIToken
		}
		if p.TokenID == "" {
			return "", nil, fmt.Errorf("%w: the API token the request came with is not known", ErrUnauthenticated)
		}
		parent = p.TokenID
	}
	return s.createAPIToken(ctx, p.User, name, parent)
}

func (s *Service) createAPIToken(ctx context.Context, owner *User, name, parent string) (string, *APIToken, error) {
	if n := utf8.RuneCountInString(name); n < 1 || n > 64 || strings.TrimSpace(name) != name ||
		strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return "", nil, fmt.Errorf("%w: token names have 1 to 64 printable characters, without leading or trailing spaces", ErrInvalidName)
	}
	token := newSecret(APITokenPrefix)
	info := &APIToken{
		ID:        newID(),
		OwnerID:   owner.ID,
		Name:      name,
		ParentID:  parent,
		Hash:      hashToken(token),
		CreatedAt: s.now().UTC(),
	}
	if err := s.store.SaveAPIToken(ctx, info); err != nil {
		if errors.Is(err, ErrConflict) {
			return "", nil, fmt.Errorf("%w (names are unique among your unrevoked tokens: revoke that one or choose another name)", err)
		}
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

// RevokeAPIToken revokes the token with the ID, and every token minted
// with it. Users can revoke their own tokens, admins anyone's. Revoking a
// revoked token does nothing more.
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
	return &Principal{User: u, Via: ViaAPIToken, TokenID: t.ID}, nil
}

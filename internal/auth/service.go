// Package auth is meshperf's team mode: users with bcrypt passwords,
// short-lived JWT access tokens with rotating refresh tokens, long-lived API
// tokens for CI, and an HTTP middleware that checks them.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Defaults of the Service's options.
const (
	DefaultAccessTTL  = 15 * time.Minute
	DefaultRefreshTTL = 30 * 24 * time.Hour
	MinKeyLen         = 32
	MinPasswordLen    = 12 // characters
	maxPasswordLen    = 72 // bytes: bcrypt ignores the rest
)

// Token prefixes, which tell the kinds apart and make leaked tokens easy to
// find with secret scanners.
const (
	APITokenPrefix     = "mpt_"
	RefreshTokenPrefix = "mpr_"
)

// Log attribute keys.
const (
	logKeyUser    = "user_id"
	logKeyFamily  = "family_id"
	logKeyReason  = "reason"
	logKeyToken   = "token_id"
	logKeyErr     = "err"
	logKeyAddr    = "addr"
	logKeyLockout = "lockout"
)

var namePattern = regexp.MustCompile(`^[a-z0-9._-]{1,64}$`)

// Tokens are what a login or a refresh returns.
type Tokens struct {
	AccessToken  string        // a JWT, sent as "Authorization: Bearer ..."
	RefreshToken string        // "mpr_...", exchanged for new Tokens by Refresh
	ExpiresIn    time.Duration // lifetime of AccessToken
}

// Principal is who made a request.
type Principal struct {
	User *User
	Via  string // ViaJWT or ViaAPIToken
	// TokenID is the ID of the API token the request came with (Via is
	// ViaAPIToken); "" for an access token of a login session.
	TokenID string
}

// Values of Principal.Via.
const (
	ViaJWT      = "jwt"
	ViaAPIToken = "api-token"
)

// Service issues and checks credentials. It is safe for concurrent use.
type Service struct {
	store      Store
	key        []byte
	now        func() time.Time
	accessTTL  time.Duration
	refreshTTL time.Duration
	cost       int
	log        *slog.Logger
	dummyHash  []byte // compared against on logins of unknown users
	limits     LoginLimits
	lim        *limiter
}

// Option configures a Service.
type Option func(*Service)

// WithClock sets the clock, for tests.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithAccessTTL sets the lifetime of access tokens (default 15 minutes).
func WithAccessTTL(d time.Duration) Option { return func(s *Service) { s.accessTTL = d } }

// WithRefreshTTL sets the lifetime of refresh tokens (default 30 days); each
// rotation starts a new lifetime.
func WithRefreshTTL(d time.Duration) Option { return func(s *Service) { s.refreshTTL = d } }

// WithBcryptCost sets the bcrypt cost of new password hashes (default
// bcrypt.DefaultCost); tests use bcrypt.MinCost.
func WithBcryptCost(cost int) Option { return func(s *Service) { s.cost = cost } }

// WithLogger sets where failed authentications and token reuse are logged
// (default: nowhere). Tokens and passwords are never logged.
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// New returns a Service that keeps its records in store and signs access
// tokens with key, which must have at least MinKeyLen bytes (see GenerateKey)
// and be the same on every server replica.
func New(store Store, key []byte, opts ...Option) (*Service, error) {
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("auth: signing key has %d bytes, need at least %d: make one with auth.GenerateKey", len(key), MinKeyLen)
	}
	s := &Service{
		store:      store,
		key:        append([]byte(nil), key...),
		now:        time.Now,
		accessTTL:  DefaultAccessTTL,
		refreshTTL: DefaultRefreshTTL,
		cost:       bcrypt.DefaultCost,
		log:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		limits:     DefaultLoginLimits(),
	}
	for _, o := range opts {
		o(s)
	}
	s.lim = newLimiter(s.limits)
	if s.accessTTL <= 0 || s.refreshTTL <= 0 {
		return nil, fmt.Errorf("auth: token lifetimes must be positive, got access %v and refresh %v", s.accessTTL, s.refreshTTL)
	}
	var err error
	s.dummyHash, err = bcrypt.GenerateFromPassword([]byte("meshperf dummy password"), s.cost)
	if err != nil {
		return nil, fmt.Errorf("auth: bcrypt cost %d: %w", s.cost, err)
	}
	return s, nil
}

// GenerateKey returns a random key for New.
func GenerateKey() []byte {
	k := make([]byte, MinKeyLen)
	rand.Read(k) // never fails
	return k
}

// CreateUser adds a user. Names are 1 to 64 characters of a-z, 0-9, '.', '_'
// and '-'; passwords have at least MinPasswordLen characters.
func (s *Service) CreateUser(ctx context.Context, name, password string, admin bool) (*User, error) {
	if !namePattern.MatchString(name) {
		return nil, fmt.Errorf("%w: user names have 1 to 64 characters of a-z, 0-9, '.', '_' and '-'", ErrInvalidName)
	}
	if n := utf8.RuneCountInString(password); n < MinPasswordLen {
		return nil, fmt.Errorf("%w: it has %d characters, use at least %d", ErrWeakPassword, n, MinPasswordLen)
	}
	if len(password) > maxPasswordLen {
		return nil, fmt.Errorf("%w: it has %d bytes, use at most %d", ErrWeakPassword, len(password), maxPasswordLen)
	}
	var hash []byte
	var err error
	if herr := s.lim.hash(ctx, "", func() { hash, err = bcrypt.GenerateFromPassword([]byte(password), s.cost) }); herr != nil {
		return nil, herr
	}
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	u := &User{ID: newID(), Name: name, Admin: admin, PasswordHash: hash, CreatedAt: s.now().UTC()}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// ListUsers returns all users, ordered by name.
func (s *Service) ListUsers(ctx context.Context) ([]*User, error) {
	return s.store.ListUsers(ctx)
}

// DeleteUser deletes a user; its access, refresh and API tokens stop working.
func (s *Service) DeleteUser(ctx context.Context, id string) error {
	if err := s.store.DeleteUser(ctx, id); err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	return nil
}

// Login checks a password and starts a session. It fails with
// ErrInvalidCredentials for unknown users and wrong passwords alike, taking
// the same time for both. It is LoginFrom without a client address: only
// the user name's failures are counted.
func (s *Service) Login(ctx context.Context, name, password string) (*Tokens, error) {
	return s.LoginFrom(ctx, name, password, "")
}

// maxLimitedName bounds the user names the limiter keys on.
const maxLimitedName = 64

// LoginFrom is Login of a client at remote (host:port or an IP, as
// http.Request.RemoteAddr), under the LoginLimits: it fails with a
// *RetryError (ErrRateLimited) without checking the password when the
// address or the user name is locked out, or when no hashing slot frees
// up in time.
func (s *Service) LoginFrom(ctx context.Context, name, password, remote string) (*Tokens, error) {
	addr, key := clientKey(remote), name
	if len(key) > maxLimitedName {
		key = key[:maxLimitedName]
	}
	if err := s.lim.begin(addr, key, s.now()); err != nil {
		// A flood is logged by its lockouts, not line by line.
		s.log.DebugContext(ctx, "login refused", logKeyReason, err.Error(), logKeyAddr, addr)
		return nil, err
	}
	outcome := loginError
	var u *User
	defer func() {
		addrLock, userLock := s.lim.end(addr, key, s.now(), outcome)
		if addrLock > 0 {
			s.log.WarnContext(ctx, "login lockout of an address", logKeyAddr, addr, logKeyLockout, addrLock.String())
		}
		switch {
		case userLock > 0 && u != nil:
			s.log.WarnContext(ctx, "login lockout of a user", logKeyUser, u.ID, logKeyAddr, addr, logKeyLockout, userLock.String())
		case userLock > 0: // the name is not logged: it may be a mistyped password
			s.log.WarnContext(ctx, "login lockout of an unknown user name", logKeyAddr, addr, logKeyLockout, userLock.String())
		}
	}()
	var err error
	u, err = s.store.UserByName(ctx, name)
	hash := s.dummyHash
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("login: %w", err)
	default:
		hash = u.PasswordHash
	}
	var match bool
	if err := s.lim.hash(ctx, addr, func() { match = bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil }); err != nil {
		if errors.Is(err, ErrRateLimited) {
			outcome = loginBusy
		}
		s.log.DebugContext(ctx, "login refused", logKeyReason, err.Error(), logKeyAddr, addr)
		return nil, err
	}
	outcome = loginFailed
	switch {
	case u == nil:
		s.log.InfoContext(ctx, "login failed", logKeyReason, "unknown user", logKeyAddr, addr)
		return nil, ErrInvalidCredentials
	case !match:
		s.log.InfoContext(ctx, "login failed", logKeyUser, u.ID, logKeyReason, "wrong password", logKeyAddr, addr)
		return nil, ErrInvalidCredentials
	}
	outcome = loginOK
	return s.issue(ctx, u.ID, newID(), "")
}

// Refresh exchanges a refresh token for new tokens. Each refresh token works
// once: presenting it again revokes every token of its login and fails with
// ErrTokenReused, as it means someone else holds a copy.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (*Tokens, error) {
	rt, err := s.consumeRefresh(ctx, refreshToken)
	if err != nil {
		return nil, err
	}
	switch now := s.now(); {
	case !rt.RevokedAt.IsZero():
		return nil, fmt.Errorf("refresh token: %w", ErrTokenRevoked)
	case !rt.UsedAt.IsZero():
		s.log.WarnContext(ctx, "refresh token reused, revoking its family", logKeyUser, rt.UserID, logKeyFamily, rt.FamilyID)
		if err := s.store.RevokeRefreshFamily(ctx, rt.FamilyID, now.UTC()); err != nil {
			return nil, fmt.Errorf("revoke reused refresh token family: %w", err)
		}
		return nil, ErrTokenReused
	case !now.Before(rt.ExpiresAt):
		return nil, fmt.Errorf("refresh token: %w", ErrTokenExpired)
	}
	if _, err := s.user(ctx, rt.UserID); err != nil {
		return nil, err
	}
	return s.issue(ctx, rt.UserID, rt.FamilyID, rt.Hash)
}

// Logout revokes the refresh token and every other token of its login.
// Access tokens already issued stay valid until they expire.
func (s *Service) Logout(ctx context.Context, refreshToken string) error {
	rt, err := s.consumeRefresh(ctx, refreshToken)
	if err != nil {
		return err
	}
	if err := s.store.RevokeRefreshFamily(ctx, rt.FamilyID, s.now().UTC()); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

func (s *Service) consumeRefresh(ctx context.Context, token string) (*RefreshToken, error) {
	if !validSecret(RefreshTokenPrefix, token) {
		return nil, fmt.Errorf("%w: malformed refresh token", ErrUnauthenticated)
	}
	rt, err := s.store.ConsumeRefreshToken(ctx, hashToken(token), s.now().UTC())
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, fmt.Errorf("%w: unknown refresh token", ErrUnauthenticated)
	case err != nil:
		return nil, fmt.Errorf("refresh token: %w", err)
	}
	return rt, nil
}

// issue returns an access token and a refresh token in the family.
func (s *Service) issue(ctx context.Context, userID, familyID, parentHash string) (*Tokens, error) {
	now := s.now().UTC()
	refresh := newSecret(RefreshTokenPrefix)
	err := s.store.SaveRefreshToken(ctx, &RefreshToken{
		Hash:       hashToken(refresh),
		FamilyID:   familyID,
		ParentHash: parentHash,
		UserID:     userID,
		CreatedAt:  now,
		ExpiresAt:  now.Add(s.refreshTTL),
	})
	if err != nil {
		return nil, fmt.Errorf("save refresh token: %w", err)
	}
	return &Tokens{
		AccessToken:  signJWT(s.key, userID, now, s.accessTTL),
		RefreshToken: refresh,
		ExpiresIn:    s.accessTTL,
	}, nil
}

// Authenticate checks a bearer token, a JWT access token or an API token.
// Errors wrap ErrUnauthenticated, ErrTokenExpired or ErrTokenRevoked, or are
// store failures.
func (s *Service) Authenticate(ctx context.Context, bearer string) (*Principal, error) {
	var (
		p   *Principal
		err error
	)
	switch {
	case strings.HasPrefix(bearer, APITokenPrefix):
		p, err = s.authenticateAPIToken(ctx, bearer)
	case strings.HasPrefix(bearer, RefreshTokenPrefix):
		err = fmt.Errorf("%w: a refresh token is not an access token, exchange it with a refresh first", ErrUnauthenticated)
	default:
		p, err = s.authenticateJWT(ctx, bearer)
	}
	if err != nil {
		s.log.InfoContext(ctx, "authentication failed", logKeyReason, err.Error())
		return nil, err
	}
	return p, nil
}

func (s *Service) authenticateJWT(ctx context.Context, token string) (*Principal, error) {
	userID, err := verifyJWT(s.key, token, s.now())
	if err != nil {
		return nil, err
	}
	u, err := s.user(ctx, userID)
	if err != nil {
		return nil, err
	}
	return &Principal{User: u, Via: ViaJWT}, nil
}

// user returns a user that a token names, failing with ErrUnauthenticated if
// it was deleted.
func (s *Service) user(ctx context.Context, id string) (*User, error) {
	u, err := s.store.UserByID(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, fmt.Errorf("%w: the token's user no longer exists", ErrUnauthenticated)
	case err != nil:
		return nil, fmt.Errorf("look up token's user: %w", err)
	}
	return u, nil
}

// newID returns a random identifier of 32 hex digits.
func newID() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails
	return hex.EncodeToString(b)
}

// newSecret returns prefix + 32 random bytes in base64url.
func newSecret(prefix string) string {
	b := make([]byte, 32)
	rand.Read(b) // never fails
	return prefix + b64.EncodeToString(b)
}

// validSecret reports whether s has the form newSecret returns.
func validSecret(prefix, s string) bool {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok || len(rest) != 43 {
		return false
	}
	b, err := b64.DecodeString(rest)
	return err == nil && len(b) == 32
}

// hashToken returns the hex SHA-256 of a token, the form stores keep.
func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

package auth

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// MemoryStore is a Store in memory, for tests and for servers that need no
// persistence. The zero value is not usable; call NewMemoryStore.
type MemoryStore struct {
	mu              sync.Mutex
	users           map[string]User   // by ID
	userIDs         map[string]string // name -> ID
	refresh         map[string]RefreshToken
	revokedFamilies map[string]time.Time
	apiTokens       map[string]APIToken // by ID
	apiTokenIDs     map[string]string   // hash -> ID
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{
		users:           map[string]User{},
		userIDs:         map[string]string{},
		refresh:         map[string]RefreshToken{},
		revokedFamilies: map[string]time.Time{},
		apiTokens:       map[string]APIToken{},
		apiTokenIDs:     map[string]string{},
	}
}

func (m *MemoryStore) CreateUser(_ context.Context, u *User) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.userIDs[u.Name]; ok {
		return fmt.Errorf("user %q: %w", u.Name, ErrConflict)
	}
	if _, ok := m.users[u.ID]; ok {
		return fmt.Errorf("user id %q: %w", u.ID, ErrConflict)
	}
	c := *u
	c.PasswordHash = slices.Clone(u.PasswordHash)
	m.users[u.ID] = c
	m.userIDs[u.Name] = u.ID
	return nil
}

func (m *MemoryStore) UserByID(_ context.Context, id string) (*User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return nil, fmt.Errorf("user id %q: %w", id, ErrNotFound)
	}
	u.PasswordHash = slices.Clone(u.PasswordHash)
	return &u, nil
}

func (m *MemoryStore) UserByName(ctx context.Context, name string) (*User, error) {
	m.mu.Lock()
	id, ok := m.userIDs[name]
	m.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	return m.UserByID(ctx, id)
}

func (m *MemoryStore) ListUsers(_ context.Context) ([]*User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	us := make([]*User, 0, len(m.users))
	for _, u := range m.users {
		u.PasswordHash = slices.Clone(u.PasswordHash)
		us = append(us, &u)
	}
	slices.SortFunc(us, func(a, b *User) int { return cmp.Compare(a.Name, b.Name) })
	return us, nil
}

func (m *MemoryStore) DeleteUser(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return fmt.Errorf("user id %q: %w", id, ErrNotFound)
	}
	delete(m.users, id)
	delete(m.userIDs, u.Name)
	for h, t := range m.refresh {
		if t.UserID == id {
			delete(m.refresh, h)
		}
	}
	for tid, t := range m.apiTokens {
		if t.OwnerID == id {
			delete(m.apiTokens, tid)
			delete(m.apiTokenIDs, t.Hash)
		}
	}
	return nil
}

func (m *MemoryStore) SaveRefreshToken(_ context.Context, t *RefreshToken) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.refresh[t.Hash]; ok {
		return fmt.Errorf("refresh token: %w", ErrConflict)
	}
	m.refresh[t.Hash] = *t
	return nil
}

func (m *MemoryStore) ConsumeRefreshToken(_ context.Context, hash string, at time.Time) (*RefreshToken, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.refresh[hash]
	if !ok {
		return nil, fmt.Errorf("refresh token: %w", ErrNotFound)
	}
	if r, ok := m.revokedFamilies[t.FamilyID]; ok && t.RevokedAt.IsZero() {
		t.RevokedAt = r
	}
	was := t
	if t.UsedAt.IsZero() {
		t.UsedAt = at
	}
	m.refresh[hash] = t
	return &was, nil
}

func (m *MemoryStore) RevokeRefreshFamily(_ context.Context, familyID string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.revokedFamilies[familyID]; !ok {
		m.revokedFamilies[familyID] = at
	}
	for h, t := range m.refresh {
		if t.FamilyID == familyID && t.RevokedAt.IsZero() {
			t.RevokedAt = at
			m.refresh[h] = t
		}
	}
	return nil
}

func (m *MemoryStore) SaveAPIToken(_ context.Context, t *APIToken) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.apiTokens[t.ID]; ok {
		return fmt.Errorf("API token id %q: %w", t.ID, ErrConflict)
	}
	if _, ok := m.apiTokenIDs[t.Hash]; ok {
		return fmt.Errorf("API token: %w", ErrConflict)
	}
	for _, o := range m.apiTokens {
		if o.OwnerID == t.OwnerID && o.Name == t.Name && o.RevokedAt.IsZero() {
			return fmt.Errorf("API token name %q: %w", t.Name, ErrConflict)
		}
	}
	if t.ParentID != "" {
		p, ok := m.apiTokens[t.ParentID]
		switch {
		case !ok:
			return fmt.Errorf("API token: parent %q: %w", t.ParentID, ErrNotFound)
		case !p.RevokedAt.IsZero():
			return fmt.Errorf("API token: parent %q: %w", t.ParentID, ErrTokenRevoked)
		}
	}
	m.apiTokens[t.ID] = *t
	m.apiTokenIDs[t.Hash] = t.ID
	return nil
}

func (m *MemoryStore) APITokenByID(_ context.Context, id string) (*APIToken, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.apiTokens[id]
	if !ok {
		return nil, fmt.Errorf("API token %q: %w", id, ErrNotFound)
	}
	return &t, nil
}

func (m *MemoryStore) APITokenByHash(ctx context.Context, hash string) (*APIToken, error) {
	m.mu.Lock()
	id, ok := m.apiTokenIDs[hash]
	m.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("API token: %w", ErrNotFound)
	}
	return m.APITokenByID(ctx, id)
}

func (m *MemoryStore) ListAPITokens(_ context.Context, ownerID string) ([]*APIToken, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ts []*APIToken
	for _, t := range m.apiTokens {
		if t.OwnerID == ownerID {
			ts = append(ts, &t)
		}
	}
	slices.SortFunc(ts, func(a, b *APIToken) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return ts, nil
}

func (m *MemoryStore) RevokeAPIToken(_ context.Context, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.apiTokens[id]; !ok {
		return fmt.Errorf("API token %q: %w", id, ErrNotFound)
	}
	// The token, then what it minted, breadth first.
	for queue := []string{id}; len(queue) > 0; queue = queue[1:] {
		t := m.apiTokens[queue[0]]
		if t.RevokedAt.IsZero() {
			t.RevokedAt = at
			m.apiTokens[t.ID] = t
		}
		for cid, c := range m.apiTokens {
			if c.ParentID == t.ID && cid != id {
				queue = append(queue, cid)
			}
		}
	}
	return nil
}

func (m *MemoryStore) TouchAPIToken(_ context.Context, id string, at time.Time) error {
	return m.updateAPIToken(id, func(t *APIToken) { t.LastUsedAt = at })
}

func (m *MemoryStore) updateAPIToken(id string, f func(*APIToken)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.apiTokens[id]
	if !ok {
		return fmt.Errorf("API token %q: %w", id, ErrNotFound)
	}
	f(&t)
	m.apiTokens[id] = t
	return nil
}

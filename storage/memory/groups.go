package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/monban-idp/monban/storage"
)

// userOut returns a copy of the stored user u with its groups filled in.
// The caller holds s.mu.
func (s *Store) userOut(u *storage.User) *storage.User {
	o := cloneUser(u)
	o.Groups = nil
	for gid, set := range s.members {
		if _, ok := set[u.ID]; ok {
			o.Groups = append(o.Groups, s.groups[gid].Name)
		}
	}
	slices.Sort(o.Groups)
	return o
}

func cloneGroup(g *storage.Group) *storage.Group {
	o := *g
	o.CreatedAt, o.UpdatedAt = ts(g.CreatedAt), ts(g.UpdatedAt)
	return &o
}

// CreateGroup implements storage.Groups.
func (s *Store) CreateGroup(_ context.Context, g *storage.Group) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.groups[g.ID]; ok {
		return exists("group", g.ID)
	}
	if _, ok := s.groupByName[g.Name]; ok {
		return exists("group name", g.Name)
	}
	s.groups[g.ID] = cloneGroup(g)
	s.groupByName[g.Name] = g.ID
	return nil
}

// GetGroup implements storage.Groups.
func (s *Store) GetGroup(_ context.Context, id string) (*storage.Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[id]
	if !ok {
		return nil, notFound("group", id)
	}
	return cloneGroup(g), nil
}

// GetGroupByName implements storage.Groups.
func (s *Store) GetGroupByName(_ context.Context, name string) (*storage.Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.groupByName[name]
	if !ok {
		return nil, notFound("group name", name)
	}
	return cloneGroup(s.groups[id]), nil
}

// RenameGroup implements storage.Groups.
func (s *Store) RenameGroup(_ context.Context, id, newName string, at time.Time) (*storage.Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[id]
	if !ok {
		return nil, notFound("group", id)
	}
	if other, ok := s.groupByName[newName]; ok && other != id {
		return nil, exists("group name", newName)
	}
	s.bumpMembers(id)
	for _, c := range s.clients {
		for i, name := range c.AllowedGroups {
			if name == g.Name {
				c.AllowedGroups[i] = newName
			}
		}
	}
	delete(s.groupByName, g.Name)
	g.Name, g.UpdatedAt = newName, ts(at)
	s.groupByName[newName] = id
	return cloneGroup(g), nil
}

// DeleteGroup implements storage.Groups.
func (s *Store) DeleteGroup(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[id]
	if !ok {
		return notFound("group", id)
	}
	for _, c := range s.clients {
		if slices.Contains(c.AllowedGroups, g.Name) {
			return fmt.Errorf("memory: delete group %q: client %q's allowed groups name it: %w", id, c.ID, storage.ErrConflict)
		}
	}
	s.bumpMembers(id)
	delete(s.groups, id)
	delete(s.groupByName, g.Name)
	delete(s.members, id)
	return nil
}

// AddGroupMember implements storage.Groups.
func (s *Store) AddGroupMember(_ context.Context, groupID, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.groups[groupID]; !ok {
		return notFound("group", groupID)
	}
	if err := s.needUser(userID); err != nil {
		return err
	}
	set := s.members[groupID]
	if set == nil {
		set = make(map[string]struct{})
		s.members[groupID] = set
	}
	if _, ok := set[userID]; !ok {
		s.bump(userID)
		set[userID] = struct{}{}
	}
	return nil
}

// RemoveGroupMember implements storage.Groups.
func (s *Store) RemoveGroupMember(_ context.Context, groupID, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.members[groupID][userID]; !ok {
		return notFound("group member", groupID+"/"+userID)
	}
	s.bump(userID)
	delete(s.members[groupID], userID)
	return nil
}

// ListGroupMembers implements storage.Groups.
func (s *Store) ListGroupMembers(_ context.Context, groupID, after string, limit int) ([]*storage.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*storage.User
	for uid := range s.members[groupID] {
		if u := s.users[uid]; u.Username > after {
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b *storage.User) int { return cmp.Compare(a.Username, b.Username) })
	out = out[:min(len(out), max(limit, 0))]
	for i, u := range out {
		out[i] = s.userOut(u)
	}
	return out, nil
}

// DeleteUser implements storage.Users. What belongs to the user goes with
// them, as ON DELETE CASCADE does.
func (s *Store) DeleteUser(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return notFound("user", id)
	}
	s.bump(id)
	delete(s.users, id)
	delete(s.userByName, u.Username)
	s.deleteFactors(id)
	s.deleteUserFederated(id)
	for _, set := range s.members {
		delete(set, id)
	}
	for sid, ss := range s.sessions {
		if ss.UserID == id {
			delete(s.sessions, sid)
			delete(s.sessionByHash, ss.TokenHash)
			delete(s.sessionClient, sid)
		}
	}
	for key := range s.consents {
		if key.userID == id {
			delete(s.consents, key)
		}
	}
	for hash, t := range s.refresh {
		if t.UserID == id {
			delete(s.refresh, hash)
			delete(s.refreshIDs, t.ID)
		}
	}
	return nil
}

// CountEnabledAdmins implements storage.Users.
func (s *Store) CountEnabledAdmins(context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, u := range s.users {
		if u.Admin && !u.Disabled {
			n++
		}
	}
	return n, nil
}

// UpdateGroup implements storage.Groups.
func (s *Store) UpdateGroup(_ context.Context, id string, fn func(*storage.Group) error) (*storage.Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.groups[id]
	if !ok {
		return nil, notFound("group", id)
	}
	g := cloneGroup(old)
	if err := fn(g); err != nil {
		return nil, err
	}
	old.Description, old.Managed, old.UpdatedAt = g.Description, g.Managed, ts(g.UpdatedAt)
	return cloneGroup(old), nil
}

// bumpMembers bumps the liveness version of every member of the group.
// The caller holds s.mu.
func (s *Store) bumpMembers(groupID string) {
	for id := range s.members[groupID] {
		s.bump(id)
	}
}

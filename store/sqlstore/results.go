package sqlstore

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/meshperf/meshperf/spec"
	"github.com/meshperf/meshperf/store"
)

// A result is a row of summary columns in results (what listings show and
// filter on), its labels in result_labels, its requested targets in
// result_targets, and the whole spec.Result as gzipped JSON in
// result_bodies, apart so that listings never read it.

const summaryColumns = `r.id, r.name, r.profile_id, r.profile_revision, r.generator, r.target,
	r.start_ns, r.end_ns, r.requested_rps, r.achieved_rps, r.requests, r.errors, r.error_rate,
	r.p50_ms, r.p90_ms, r.p99_ms, r.interrupted, r.owner_id, r.private`

// SaveResult implements store.Store.
func (s *Store) SaveResult(ctx context.Context, r *spec.Result, ref store.ResultRef) (string, error) {
	if r == nil {
		return "", fmt.Errorf("%w result: nil", store.ErrInvalid)
	}
	if r.StartTime.IsZero() {
		return "", fmt.Errorf("%w result: no start time", store.ErrInvalid)
	}
	if ref.ProfileRevision < 0 || (ref.ProfileID == "" && ref.ProfileRevision != 0) {
		return "", fmt.Errorf("%w result: profile revision %d of profile %q", store.ErrInvalid, ref.ProfileRevision, ref.ProfileID)
	}
	sum := store.Summarize(r)
	for name, v := range map[string]float64{
		"requested rps": sum.RequestedRPS, "achieved rps": sum.AchievedRPS, "error rate": sum.ErrorRate,
		"p50": sum.P50Ms, "p90": sum.P90Ms, "p99": sum.P99Ms,
	} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return "", fmt.Errorf("%w result: %s is %v", store.ErrInvalid, name, v)
		}
	}
	assigned := r.ID == ""
	if assigned {
		r.ID = store.NewID()
	}
	err := s.inTx(ctx, func(tx db) error {
		cols, vals := ownerColumns(ref.OwnerID, ref.Private)
		_, err := tx.exec(ctx, `INSERT INTO results (id, name, profile_id, profile_revision, generator, target,
			start_ns, end_ns, requested_rps, achieved_rps, requests, errors, error_rate,
			p50_ms, p90_ms, p99_ms, interrupted, saved_ns`+cols+`)
			VALUES (`+placeholders(18+len(vals))+`)`,
			append([]any{r.ID, sum.Name, ref.ProfileID, ref.ProfileRevision, sum.Generator, sum.Target,
				nanos(sum.StartTime), nanos(sum.EndTime), sum.RequestedRPS, sum.AchievedRPS, sum.Requests, sum.Errors, sum.ErrorRate,
				sum.P50Ms, sum.P90Ms, sum.P99Ms, sum.Interrupted, nanos(time.Now())}, vals...)...)
		if err != nil {
			return s.conflict(err, fmt.Sprintf("result %q", r.ID))
		}
		return insertResultParts(ctx, tx, r)
	})
	if err != nil {
		if assigned {
			r.ID = ""
		}
		return "", s.fail(err)
	}
	return r.ID, nil
}

// insertResultParts writes r's labels, targets and body.
func insertResultParts(ctx context.Context, tx db, r *spec.Result) error {
	if err := insertLabels(ctx, tx, `result_labels (result_id, key, value)`, []any{r.ID}, r.Labels); err != nil {
		return err
	}
	if n := len(r.Requested.Targets); n > 0 {
		args := make([]any, 0, 3*n)
		for i, t := range r.Requested.Targets {
			args = append(args, r.ID, i, t)
		}
		_, err := tx.exec(ctx, `INSERT INTO result_targets (result_id, position, target) VALUES `+
			strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", n), ", "), args...)
		if err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for _, m := range store.ResultMeshes(r) {
		if seen[m[0]] {
			continue
		}
		seen[m[0]] = true
		if _, err := tx.exec(ctx, `INSERT INTO result_meshes (result_id, mesh, version) VALUES (?, ?, ?)`, r.ID, m[0], m[1]); err != nil {
			return err
		}
	}
	// The body goes last: should it fail to encode, the rows above are
	// rolled back with it.
	body, err := encodeResult(r)
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, `INSERT INTO result_bodies (result_id, body) VALUES (?, ?)`, r.ID, body)
	return err
}

// ReplaceResult implements store.Store.
func (s *Store) ReplaceResult(ctx context.Context, r *spec.Result) error {
	if r == nil || r.ID == "" {
		return fmt.Errorf("%w result: nothing to replace (no result or no ID)", store.ErrInvalid)
	}
	if r.StartTime.IsZero() {
		return fmt.Errorf("%w result: no start time", store.ErrInvalid)
	}
	sum := store.Summarize(r)
	for name, v := range map[string]float64{
		"requested rps": sum.RequestedRPS, "achieved rps": sum.AchievedRPS, "error rate": sum.ErrorRate,
		"p50": sum.P50Ms, "p90": sum.P90Ms, "p99": sum.P99Ms,
	} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w result: %s is %v", store.ErrInvalid, name, v)
		}
	}
	err := s.inTx(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE results SET name = ?, generator = ?, target = ?, start_ns = ?, end_ns = ?,
			requested_rps = ?, achieved_rps = ?, requests = ?, errors = ?, error_rate = ?,
			p50_ms = ?, p90_ms = ?, p99_ms = ?, interrupted = ?, saved_ns = ? WHERE id = ?`,
			sum.Name, sum.Generator, sum.Target, nanos(sum.StartTime), nanos(sum.EndTime),
			sum.RequestedRPS, sum.AchievedRPS, sum.Requests, sum.Errors, sum.ErrorRate,
			sum.P50Ms, sum.P90Ms, sum.P99Ms, sum.Interrupted, nanos(time.Now()), r.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("result %q %w", r.ID, store.ErrNotFound)
		}
		for _, table := range []string{"result_labels", "result_targets", "result_meshes", "result_bodies"} {
			if _, err := tx.exec(ctx, `DELETE FROM `+table+` WHERE result_id = ?`, r.ID); err != nil {
				return err
			}
		}
		return insertResultParts(ctx, tx, r)
	})
	return s.fail(err)
}

// encodeResult returns r as gzipped JSON.
func encodeResult(r *spec.Result) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(r); err != nil {
		return nil, fmt.Errorf("%w result: cannot encode: %w", store.ErrInvalid, err)
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decodeResult(id string, body []byte) (*spec.Result, error) {
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("result %s: corrupt body: %w", id, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("result %s: corrupt body: %w", id, err)
	}
	var r spec.Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("result %s: corrupt body: %w", id, err)
	}
	return &r, nil
}

// GetResult implements store.Store.
func (s *Store) GetResult(ctx context.Context, id string) (*store.StoredResult, error) {
	q := s.reader()
	full, err := resolveResult(ctx, q, id)
	if err != nil {
		return nil, s.fail(err)
	}
	rows, err := q.query(ctx, `SELECT `+summaryColumns+`, b.body
		FROM results r JOIN result_bodies b ON b.result_id = r.id WHERE r.id = ?`, full)
	if err != nil {
		return nil, s.fail(err)
	}
	var body []byte
	sums, err := scanSummaries(rows, &body)
	if err != nil {
		return nil, s.fail(err)
	}
	if len(sums) == 0 { // deleted meanwhile
		return nil, fmt.Errorf("result %q %w", id, store.ErrNotFound)
	}
	if err := addResultLabels(ctx, q, sums); err != nil {
		return nil, s.fail(err)
	}
	r, err := decodeResult(full, body)
	if err != nil {
		return nil, err
	}
	return &store.StoredResult{Summary: sums[0], Result: r}, nil
}

// resolveResult returns the ID of the result with ID id, or else the one
// result whose ID starts with it.
func resolveResult(ctx context.Context, q db, id string) (string, error) {
	return resolveID(ctx, q, "results", "result", id)
}

// resolveID returns the ID of the row of table (results, runs) with ID id,
// or else of the one row whose ID starts with it. kind names the rows in
// errors. For results, runs and capacity searches, a restricted viewer in ctx
// (store.WithViewer) is only shown rows it may see: the others are not
// matched, by ID nor by prefix.
func resolveID(ctx context.Context, q db, table, kind, id string) (string, error) {
	cond, condArgs := "", []any(nil)
	if v := store.ViewerFrom(ctx); v.Restricted() && (table == "results" || table == "runs" || table == "capacity_searches") {
		c, a := visible(table, v)
		cond, condArgs = " AND "+c, a
	}
	var full string
	err := q.queryRow(ctx, `SELECT id FROM `+table+` WHERE id = ?`+cond, append([]any{id}, condArgs...)...).Scan(&full)
	if err == nil || !errors.Is(err, sql.ErrNoRows) {
		return full, err
	}
	if len(id) < store.MinPrefix || !utf8.ValidString(id) {
		return "", fmt.Errorf("%s %q %w", kind, id, store.ErrNotFound)
	}
	// Every string starting with id sorts between id and id+U+10FFFF, in
	// byte order (SQLite's BINARY, PostgreSQL's "C" collation of id).
	const few = 5
	args := append([]any{id, id + string(rune(utf8.MaxRune))}, condArgs...)
	rows, err := q.query(ctx, `SELECT id FROM `+table+` WHERE id >= ? AND id < ?`+cond+` ORDER BY id LIMIT ?`,
		append(args, few+1)...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return "", err
		}
		if strings.HasPrefix(m, id) {
			ids = append(ids, m)
		}
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	switch {
	case len(ids) == 0:
		return "", fmt.Errorf("%s %q %w", kind, id, store.ErrNotFound)
	case len(ids) > 1:
		amb := &store.AmbiguousError{Prefix: id, IDs: ids[:min(len(ids), few)], More: len(ids) > few}
		if kind != "result" {
			amb.Kind = kind
		}
		return "", amb
	}
	return ids[0], nil
}

// scanSummaries reads rows selecting summaryColumns, then, if extra is
// given, more columns into it (of the last row).
func scanSummaries(rows *sql.Rows, extra ...any) ([]store.ResultSummary, error) {
	defer rows.Close()
	var out []store.ResultSummary
	for rows.Next() {
		var m store.ResultSummary
		var start, end int64
		dest := append([]any{&m.ID, &m.Name, &m.ProfileID, &m.ProfileRevision, &m.Generator, &m.Target,
			&start, &end, &m.RequestedRPS, &m.AchievedRPS, &m.Requests, &m.Errors, &m.ErrorRate,
			&m.P50Ms, &m.P90Ms, &m.P99Ms, &m.Interrupted, &m.OwnerID, &m.Private}, extra...)
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		m.StartTime, m.EndTime = fromNanos(start), fromNanos(end)
		out = append(out, m)
	}
	return out, rows.Err()
}

// addResultLabels fills in the labels of sums.
func addResultLabels(ctx context.Context, q db, sums []store.ResultSummary) error {
	if len(sums) == 0 {
		return nil
	}
	idx := make(map[string]int, len(sums))
	args := make([]any, len(sums))
	for i, m := range sums {
		idx[m.ID] = i
		args[i] = m.ID
	}
	rows, err := q.query(ctx, `SELECT result_id, key, value FROM result_labels
		WHERE result_id IN (`+placeholders(len(args))+`)`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, k, v string
		if err := rows.Scan(&id, &k, &v); err != nil {
			return err
		}
		m := &sums[idx[id]]
		if m.Labels == nil {
			m.Labels = make(map[string]string)
		}
		m.Labels[k] = v
	}
	return rows.Err()
}

// ListResults implements store.Store: newest first by (start time, ID), a
// page at a time, resuming after the last row of the previous page.
func (s *Store) ListResults(ctx context.Context, f store.ResultFilter) (*store.Page, error) {
	limit, err := pageLimit(f.Limit, "result filter")
	if err != nil {
		return nil, err
	}
	var where []string
	var args []any
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	if f.Cursor != "" {
		start, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, err
		}
		add(`(r.start_ns, r.id) < (?, ?)`, start, id)
	}
	if !f.Since.IsZero() {
		add(`r.start_ns >= ?`, nanos(f.Since))
	}
	if !f.Until.IsZero() {
		add(`r.start_ns < ?`, nanos(f.Until))
	}
	if f.ProfileID != "" {
		add(`r.profile_id = ?`, f.ProfileID)
	}
	if f.Generator != "" {
		add(`r.generator = ?`, f.Generator)
	}
	if f.Target != "" {
		add(`EXISTS (SELECT 1 FROM result_targets t WHERE t.result_id = r.id AND t.target = ?)`, f.Target)
	}
	if f.Mesh != "" {
		if f.MeshVersion != "" {
			add(`EXISTS (SELECT 1 FROM result_meshes m WHERE m.result_id = r.id AND m.mesh = ? AND m.version = ?)`, strings.ToLower(f.Mesh), f.MeshVersion)
		} else {
			add(`EXISTS (SELECT 1 FROM result_meshes m WHERE m.result_id = r.id AND m.mesh = ?)`, strings.ToLower(f.Mesh))
		}
	}
	for _, k := range sortedKeys(f.Labels) {
		add(`EXISTS (SELECT 1 FROM result_labels l WHERE l.result_id = r.id AND l.key = ? AND l.value = ?)`, k, f.Labels[k])
	}
	if f.Viewer.Restricted() {
		cond, a := visible("r", f.Viewer)
		add(cond, a...)
	}
	query := `SELECT ` + summaryColumns + ` FROM results r`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY r.start_ns DESC, r.id DESC LIMIT ?`
	args = append(args, limit+1)

	q := s.reader()
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, s.fail(err)
	}
	sums, err := scanSummaries(rows)
	if err != nil {
		return nil, s.fail(err)
	}
	page := &store.Page{Results: sums}
	if len(sums) > limit {
		page.Results = sums[:limit]
		last := page.Results[limit-1]
		page.Next = encodeCursor(nanos(last.StartTime), last.ID)
	}
	if err := addResultLabels(ctx, q, page.Results); err != nil {
		return nil, s.fail(err)
	}
	return page, nil
}

// pageLimit is a list's page size: store.DefaultLimit for 0, at most
// store.MaxLimit; a negative limit is store.ErrInvalid, naming the filter.
func pageLimit(limit int, filter string) (int, error) {
	switch {
	case limit < 0:
		return 0, fmt.Errorf("%w %s: limit %d", store.ErrInvalid, filter, limit)
	case limit == 0:
		return store.DefaultLimit, nil
	}
	return min(limit, store.MaxLimit), nil
}

// A cursor is the start time and ID of the last row of a page, opaque.
func encodeCursor(start int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(start, 10) + "." + id))
}

func decodeCursor(c string) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		ns, id, ok := strings.Cut(string(b), ".")
		if start, err := strconv.ParseInt(ns, 10, 64); ok && err == nil && id != "" {
			return start, id, nil
		}
	}
	return 0, "", fmt.Errorf("%w cursor %q: not one a listing returned", store.ErrInvalid, c)
}

// DeleteResult implements store.Store.
func (s *Store) DeleteResult(ctx context.Context, id string) error {
	return s.fail(s.inTx(ctx, func(tx db) error {
		full, err := resolveResult(ctx, tx, id)
		if err != nil {
			return err
		}
		// Labels, targets and body go by ON DELETE CASCADE.
		_, err = tx.exec(ctx, `DELETE FROM results WHERE id = ?`, full)
		return err
	}))
}

// newestFirst is one page of a table's rows, newest first by (created_ns,
// id): after the cursor's row, under the extra conditions, in the given
// states (each checked by valid), and visible to the viewer.
type newestFirst struct {
	table, columns string
	cursor         string
	where          []string // extra conditions, with their args
	args           []any
	states         []string
	valid          func(string) bool
	what           string // "run filter": named in errors
	viewer         *store.Viewer
}

// query returns the page's query and args, for limit+1 rows so the caller
// sees whether another page follows.
func (q newestFirst) query(limit int) (string, []any, error) {
	var where []string
	var args []any
	if q.cursor != "" {
		created, id, err := decodeCursor(q.cursor)
		if err != nil {
			return "", nil, err
		}
		where = append(where, `(created_ns, id) < (?, ?)`)
		args = append(args, created, id)
	}
	where, args = append(where, q.where...), append(args, q.args...)
	if len(q.states) > 0 {
		for _, st := range q.states {
			if !q.valid(st) {
				return "", nil, fmt.Errorf("%w %s: unknown state %q", store.ErrInvalid, q.what, st)
			}
			args = append(args, st)
		}
		where = append(where, `state IN (`+placeholders(len(q.states))+`)`)
	}
	if q.viewer.Restricted() {
		cond, a := visible(q.table, q.viewer)
		where, args = append(where, cond), append(args, a...)
	}
	query := `SELECT ` + q.columns + ` FROM ` + q.table
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	return query + ` ORDER BY created_ns DESC, id DESC LIMIT ?`, append(args, limit+1), nil
}

package api

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Partner is one row of the partner table: the key a partner application
// signs its requests with and the hotels it may read.
type Partner struct {
	Name            string   `json:"name"`
	AccessKeyID     string   `json:"access_key_id"`
	SecretAccessKey string   `json:"secret_access_key"`
	Hotels          []string `json:"hotels"`
	// Scopes widen what the partner sees: ScopePII shows guests' e-mail
	// addresses, phone numbers and loyalty numbers unmasked (each such
	// response is recorded in the access audit). None: masked.
	Scopes []string `json:"scopes,omitempty"`
}

// ScopePII lets a partner see guests' contact data unmasked.
const ScopePII = "pii"

// knownScopes are the scopes a partner may carry.
var knownScopes = map[string]bool{ScopePII: true}

// partnerFile is the JSON layout of the partners file.
type partnerFile struct {
	Partners []Partner `json:"partners"`
}

// Partners is the partner table, by access key id. It is read-only once
// made and safe for concurrent use.
type Partners struct {
	byKey map[string]partnerEntry
}

type partnerEntry struct {
	Partner
	hotels map[string]bool
	scopes map[string]bool
}

// ErrPartnerFile wraps every problem with the content of a partners file.
var ErrPartnerFile = errors.New("api: invalid partners file")

// NewPartners builds a table; access key ids must be unique and non-empty
// and every partner needs a secret and at least one hotel.
func NewPartners(list []Partner) (*Partners, error) {
	p := &Partners{byKey: make(map[string]partnerEntry, len(list))}
	for i, pt := range list {
		switch {
		case pt.AccessKeyID == "" || pt.SecretAccessKey == "":
			return nil, fmt.Errorf("%w: partner %d has no access key id or secret", ErrPartnerFile, i)
		case len(pt.Hotels) == 0:
			return nil, fmt.Errorf("%w: partner %s has no hotels", ErrPartnerFile, pt.AccessKeyID)
		}
		if _, dup := p.byKey[pt.AccessKeyID]; dup {
			return nil, fmt.Errorf("%w: access key id %s appears twice", ErrPartnerFile, pt.AccessKeyID)
		}
		e := partnerEntry{Partner: pt, hotels: make(map[string]bool, len(pt.Hotels)), scopes: map[string]bool{}}
		for _, h := range pt.Hotels {
			e.hotels[h] = true
		}
		for _, sc := range pt.Scopes {
			if !knownScopes[sc] {
				return nil, fmt.Errorf("%w: partner %s has unknown scope %q", ErrPartnerFile, pt.AccessKeyID, sc)
			}
			e.scopes[sc] = true
		}
		p.byKey[pt.AccessKeyID] = e
	}
	return p, nil
}

// LoadPartners reads a partners file; a missing file is an empty table.
func LoadPartners(path string) (*Partners, error) {
	list, err := readPartnerFile(path)
	if err != nil {
		return nil, err
	}
	return NewPartners(list)
}

// Len is the number of partners (0 for a nil table).
func (p *Partners) Len() int {
	if p == nil {
		return 0
	}
	return len(p.byKey)
}

func (p *Partners) lookup(accessKeyID string) (partnerEntry, bool) {
	if p == nil {
		return partnerEntry{}, false
	}
	e, ok := p.byKey[accessKeyID]
	return e, ok
}

func readPartnerFile(path string) ([]Partner, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("api: read partners file: %w", err)
	}
	var f partnerFile
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrPartnerFile, path, err)
	}
	return f.Partners, nil
}

// NewPartnerKey makes a partner with a fresh random access key id and
// secret for hotels, with scopes (none: contact data masked).
func NewPartnerKey(name string, hotels, scopes []string) (Partner, error) {
	for _, sc := range scopes {
		if !knownScopes[sc] {
			return Partner{}, fmt.Errorf("%w: unknown scope %q", ErrPartnerFile, sc)
		}
	}
	var id [10]byte
	var secret [30]byte
	if _, err := rand.Read(id[:]); err != nil {
		return Partner{}, err
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return Partner{}, err
	}
	return Partner{
		Name:            name,
		AccessKeyID:     "RIP" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(id[:]),
		SecretAccessKey: base64.RawStdEncoding.EncodeToString(secret[:]),
		Hotels:          hotels,
		Scopes:          scopes,
	}, nil
}

// AddPartner appends p to the partners file at path (creating it, mode
// 0600), replacing the file atomically. Concurrent calls on one file may
// lose an update; it is an operator's command.
func AddPartner(path string, p Partner) error {
	list, err := readPartnerFile(path)
	if err != nil {
		return err
	}
	list = append(list, p)
	if _, err := NewPartners(list); err != nil {
		return err
	}
	b, err := json.MarshalIndent(partnerFile{Partners: list}, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".partners-*.json")
	if err != nil {
		return fmt.Errorf("api: write partners file: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("api: write partners file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("api: write partners file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("api: write partners file: %w", err)
	}
	return nil
}

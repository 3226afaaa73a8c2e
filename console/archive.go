package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/resingest/resingest/reservation"
	"github.com/resingest/resingest/sinks/archive"
)

type archiveEntry = archive.Entry

const maxArchiveKey = 1024

func (s *Server) readArchive(ctx context.Context, key string) ([]archiveEntry, error) {
	entries, err := s.opts.Archive.Read(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("archive object unreadable: %w", err)
	}
	return entries, nil
}

// findEntry picks the message of an archive object: by message id and
// confirmation, else by confirmation and version, else the only entry.
func findEntry(entries []archiveEntry, messageID, conf, version string) (*archiveEntry, error) {
	var byConf *archiveEntry
	for i := range entries {
		e := &entries[i]
		if e.Confirmation != conf && conf != "" {
			continue
		}
		if messageID != "" && e.MessageID == messageID {
			return e, nil
		}
		if version != "" && e.Version == version {
			byConf = e
		} else if byConf == nil && messageID == "" && version == "" {
			byConf = e
		}
	}
	if byConf != nil {
		return byConf, nil
	}
	if len(entries) == 1 && conf == "" {
		return &entries[0], nil
	}
	return nil, errors.New("the archive object holds no such message")
}

type messagePage struct {
	Key         string
	Entry       archiveEntry
	XML         string
	Masked      bool
	Reservation string // link back
	Unformatted bool
}

// message shows one archived message, redacted (card data) and laid out;
// guests' personal data masked for the ops role.
func (s *Server) message(ctx context.Context, r *http.Request, rc *requestCtx) (view, error) {
	if s.opts.Archive == nil {
		return view{}, notFound("This console has no archive configured (--archive-bucket).")
	}
	key, err := query(r, "key", maxArchiveKey)
	if err != nil {
		return view{}, err
	}
	msgID, err := query(r, "message_id", maxFilter)
	if err != nil {
		return view{}, err
	}
	conf, err := query(r, "confirmation", maxConfirmation)
	if err != nil {
		return view{}, err
	}
	version, err := query(r, "version", maxFilter)
	if err != nil {
		return view{}, err
	}
	if key == "" {
		return view{}, badRequest("key: required (an archive object key).")
	}
	entries, err := s.opts.Archive.Read(ctx, key)
	if err != nil {
		if errors.Is(err, archive.ErrNotFound) {
			return view{}, notFound("The archive holds no object with this key.")
		}
		return view{}, storeDown("The archive (S3)", err)
	}
	e, err := findEntry(entries, msgID, conf, version)
	if err != nil {
		return view{}, notFound("The archive object holds no such message.")
	}
	p := messagePage{Key: key, Entry: *e, Masked: !rc.staff.PII}
	if e.HotelCode != "" && e.Confirmation != "" {
		p.Reservation = reservationURL(reservation.Key{HotelCode: e.HotelCode, Confirmation: e.Confirmation})
	}
	p.XML, err = prettyXML([]byte(e.XML), rc.staff.PII)
	if err != nil {
		if !rc.staff.PII {
			return view{}, &pageError{status: http.StatusUnprocessableEntity,
				msg: "This archived message is not well-formed XML, so its personal data cannot be masked: only the ops-pii role may see it."}
		}
		p.XML, p.Unformatted = e.XML, true
	}
	if rc.staff.PII {
		k := reservation.Key{HotelCode: e.HotelCode, Confirmation: e.Confirmation}
		if err := s.recordPIIView(ctx, rc, k, "message"); err != nil {
			return view{}, err
		}
	}
	return view{page: "message", title: "Archived message " + dashed(e.MessageID), data: p}, nil
}

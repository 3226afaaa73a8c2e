package postgres

import (
	"context"
	"crypto/md5"
	"encoding/binary"
)

// Checksums (migrate verify): a hotel's reservations sum to the XOR of
// ReservationChecksum over them, with their count. XOR is order-free, so
// every store can sum in its own order: Postgres with bit_xor over the
// same hash computed in SQL (checksumsSQL), the source extract and
// DynamoDB in Go. md5 for its availability in SQL, not for security.

// ReservationChecksum is the first 8 bytes, big endian, of
// md5(confirmation "|" version): what checksumsSQL computes per row.
func ReservationChecksum(confirmation, version string) uint64 {
	h := md5.Sum([]byte(confirmation + "|" + version))
	return binary.BigEndian.Uint64(h[:8])
}

// checksumsSQL sums every stored reservation per hotel as
// ReservationChecksum does.
const checksumsSQL = `
SELECT hotel_code, count(*),
	bit_xor(('x' || left(md5(confirmation || '|' || version), 16))::bit(64)::bigint)
FROM reservations GROUP BY hotel_code`

// ReservationChecksums calls fn with every hotel's count of stored
// reservations and the XOR of their ReservationChecksum.
func (s *Sink) ReservationChecksums(ctx context.Context, fn func(hotel string, count int64, sum uint64)) error {
	rows, err := s.pool.Query(ctx, checksumsSQL)
	if err != nil {
		return err
	}
	defer rows.Close()
	var hotel string
	var count, x int64
	for rows.Next() {
		if err := rows.Scan(&hotel, &count, &x); err != nil {
			return err
		}
		fn(hotel, count, uint64(x))
	}
	return rows.Err()
}

package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// SigV4 scope of partner requests: clients sign for this service name and
// the server's region (Options.Region).
const (
	SigV4Service  = "resingest"
	DefaultRegion = "us-east-1"
	sigV4Algo     = "AWS4-HMAC-SHA256"
	amzDateFormat = "20060102T150405Z"
)

// ErrBadSignature wraps every reason a signed request is refused.
var ErrBadSignature = errors.New("api: invalid request signature")

// ErrReplay is returned for a signature already used within the window.
var ErrReplay = fmt.Errorf("%w: replayed request", ErrBadSignature)

// sigV4Auth is the parsed Authorization header of a signed request.
type sigV4Auth struct {
	accessKeyID, date, region, service string
	signedHeaders                      string
	signature                          string
}

func parseSigV4(h string) (sigV4Auth, error) {
	rest, ok := strings.CutPrefix(h, sigV4Algo+" ")
	if !ok {
		return sigV4Auth{}, fmt.Errorf("%w: not %s", ErrBadSignature, sigV4Algo)
	}
	var a sigV4Auth
	var credential string
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			credential = v
		case "SignedHeaders":
			a.signedHeaders = v
		case "Signature":
			a.signature = v
		}
	}
	scope := strings.Split(credential, "/")
	if len(scope) != 5 || scope[4] != "aws4_request" || a.signedHeaders == "" || len(a.signature) != 64 {
		return sigV4Auth{}, fmt.Errorf("%w: malformed Authorization header", ErrBadSignature)
	}
	a.accessKeyID, a.date, a.region, a.service = scope[0], scope[1], scope[2], scope[3]
	return a, nil
}

// sigV4Verifier checks partner requests by signing them again with the
// AWS SDK's signer and the partner's secret: the canonical request is the
// SDK's, not ours.
type sigV4Verifier struct {
	partners *Partners
	region   string
	skew     time.Duration
	now      func() time.Time
	signer   *v4.Signer
	seen     *replayCache
}

// verify authenticates r (whose body has been read into body) and returns
// the partner that signed it.
func (v *sigV4Verifier) verify(ctx context.Context, r *http.Request, body []byte) (partnerEntry, error) {
	a, err := parseSigV4(r.Header.Get("Authorization"))
	if err != nil {
		return partnerEntry{}, err
	}
	if a.service != SigV4Service || a.region != v.region {
		return partnerEntry{}, fmt.Errorf("%w: credential scope is not %s/%s", ErrBadSignature, v.region, SigV4Service)
	}
	signed := strings.Split(a.signedHeaders, ";")
	if !contains(signed, "host") || !contains(signed, "x-amz-date") {
		return partnerEntry{}, fmt.Errorf("%w: host and x-amz-date must be signed", ErrBadSignature)
	}
	at, err := time.Parse(amzDateFormat, r.Header.Get("X-Amz-Date"))
	if err != nil || at.Format("20060102") != a.date {
		return partnerEntry{}, fmt.Errorf("%w: missing or inconsistent X-Amz-Date", ErrBadSignature)
	}
	now := v.now()
	if d := now.Sub(at); d > v.skew || d < -v.skew {
		return partnerEntry{}, fmt.Errorf("%w: X-Amz-Date outside the %s window", ErrBadSignature, v.skew)
	}
	p, ok := v.partners.lookup(a.accessKeyID)
	if !ok {
		return partnerEntry{}, fmt.Errorf("%w: unknown access key", ErrBadSignature)
	}

	// The request as the client signed it: only the headers it says it
	// signed, the received path and query, the received body's hash.
	clone := &http.Request{
		Method: r.Method,
		URL:    &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery},
		Host:   r.Host,
		Header: make(http.Header),
		Body:   http.NoBody,
	}
	for _, name := range signed {
		switch name {
		case "host":
		case "content-length":
			clone.ContentLength = r.ContentLength
		default:
			if vals := r.Header.Values(name); len(vals) > 0 {
				clone.Header[http.CanonicalHeaderKey(name)] = vals
			}
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: p.AccessKeyID, SecretAccessKey: p.SecretAccessKey}
	if err := v.signer.SignHTTP(ctx, creds, clone, hex.EncodeToString(sum[:]), SigV4Service, v.region, at); err != nil {
		return partnerEntry{}, fmt.Errorf("%w: the request cannot be signed", ErrBadSignature)
	}
	want, err := parseSigV4(clone.Header.Get("Authorization"))
	if err != nil {
		return partnerEntry{}, err
	}
	sigOK := subtle.ConstantTimeCompare([]byte(want.signature), []byte(a.signature)) == 1
	if !sigOK || want.signedHeaders != a.signedHeaders {
		return partnerEntry{}, fmt.Errorf("%w: signature does not match", ErrBadSignature)
	}
	// Only a verified signature enters the cache, so nobody can block a
	// partner's request by sending its signature first with a wrong body.
	// The same signature from the same address is the partner's retry.
	if err := v.seen.add(a.signature, clientIP(r), at.Add(v.skew), now); err != nil {
		return partnerEntry{}, err
	}
	return p, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// maxBody bounds what verify hashes; requests are read whole before
// authentication.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	var buf bytes.Buffer
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

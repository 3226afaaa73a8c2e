package pii_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/resingest/resingest/pii"
)

func TestSealOpenRoundTrip(t *testing.T) {
	kr, _, _ := newKeyring(t)
	ctx := t.Context()
	for _, plain := range []string{"Grace", "grace.hopper@example.com", "+1 555 0100", "Zoë Ångström-Łukasz", strings.Repeat("x", 5000)} {
		sealed, err := kr.Seal("guest.surname", plain)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(sealed, plain) || !strings.HasPrefix(sealed, pii.SealedPrefix+"v1:") {
			t.Fatalf("sealed value %q is not a v1 sealed value hiding the plain text", sealed[:min(len(sealed), 40)])
		}
		again, _ := kr.Seal("guest.surname", plain)
		if again == sealed {
			t.Fatal("two seals of one value are equal: the nonce is not random")
		}
		got, err := kr.Open(ctx, "guest.surname", sealed)
		if err != nil || got != plain {
			t.Fatalf("Open = %q, %v; want the plain value", got, err)
		}
	}
	if s, _ := kr.Seal("guest.email", ""); s != "" {
		t.Fatalf("empty value sealed to %q; want it left empty", s)
	}
	if got, err := kr.Open(ctx, "guest.email", "legacy@example.com"); err != nil || got != "legacy@example.com" {
		t.Fatalf("a plain (legacy) value must pass through Open, got %q, %v", got, err)
	}
}

func TestOpenRefusesBadValues(t *testing.T) {
	kr, _, _ := newKeyring(t)
	ctx := t.Context()
	sealed, err := kr.Seal("guest.email", "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	body := sealed[len(pii.SealedPrefix+"v1:"):]
	flip := []byte(body)
	if flip[10] == 'A' {
		flip[10] = 'B'
	} else {
		flip[10] = 'A'
	}
	for _, tc := range []struct {
		name, field, value string
		want               error
	}{
		{"tampered byte", "guest.email", pii.SealedPrefix + "v1:" + string(flip), pii.ErrTampered},
		{"moved to another field", "guest.phone", sealed, pii.ErrTampered},
		{"version relabelled", "guest.email", pii.SealedPrefix + "v2:" + body, pii.ErrUnknownKeyVersion},
		{"missing key version", "guest.email", pii.SealedPrefix + "v9:" + body, pii.ErrUnknownKeyVersion},
		{"truncated", "guest.email", sealed[:len(pii.SealedPrefix)+8], pii.ErrMalformed},
		{"not base64", "guest.email", pii.SealedPrefix + "v1:!!!!", pii.ErrMalformed},
		{"no version", "guest.email", pii.SealedPrefix + "nocolon", pii.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := kr.Open(ctx, tc.field, tc.value)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open = %q, %v; want %v", got, err, tc.want)
			}
			if got != "" {
				t.Fatalf("Open returned %q with an error: never garbage", got)
			}
			if strings.Contains(err.Error(), "ada@") || strings.Contains(err.Error(), body[:12]) {
				t.Fatalf("error %q quotes the value", err)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("error %q does not name the field %s", err, tc.field)
			}
		})
	}
	var kv *pii.KeyVersionError
	if _, err := kr.Open(ctx, "guest.email", pii.SealedPrefix+"v9:"+body); !errors.As(err, &kv) || kv.Version != "v9" {
		t.Fatalf("want a *KeyVersionError naming v9, got %v", err)
	}
}

func TestWrongKEKIsRefused(t *testing.T) {
	_, store, _ := newKeyring(t)
	other, _ := newKEK(t)
	_, err := pii.Load(t.Context(), store, other)
	if err == nil || !strings.Contains(err.Error(), "wrapped by") {
		t.Fatalf("Load with another key file = %v; want an error saying which KEK wrapped the keys", err)
	}
}

func TestInitTwiceAndNotInitialised(t *testing.T) {
	kr, store, kek := newKeyring(t)
	_ = kr
	if err := pii.Init(t.Context(), store, kek); !errors.Is(err, pii.ErrAlreadyInitialised) {
		t.Fatalf("second Init = %v; want ErrAlreadyInitialised", err)
	}
	empty := newStore(t)
	if _, err := pii.Load(t.Context(), empty, kek); !errors.Is(err, pii.ErrNotInitialised) {
		t.Fatalf("Load of an empty store = %v; want ErrNotInitialised", err)
	}
	if _, err := pii.Rotate(t.Context(), empty, kek); !errors.Is(err, pii.ErrNotInitialised) {
		t.Fatalf("Rotate of an empty store = %v; want ErrNotInitialised", err)
	}
}

func TestRotationKeepsOldValuesReadable(t *testing.T) {
	defer pii.SetReloadInterval(0)()
	kr, store, kek := newKeyring(t)
	ctx := t.Context()
	old, _ := kr.Seal("guest.given_name", "Katherine")
	v, err := pii.Rotate(ctx, store, kek)
	if err != nil || v != "v2" {
		t.Fatalf("Rotate = %q, %v; want v2", v, err)
	}
	// Another worker, loaded after the rotation, seals under v2.
	kr2, err := pii.Load(ctx, store, kek)
	if err != nil {
		t.Fatal(err)
	}
	if kr2.CurrentVersion() != "v2" {
		t.Fatalf("current version %s; want v2", kr2.CurrentVersion())
	}
	fresh, _ := kr2.Seal("guest.given_name", "Johnson")
	if ver, _ := pii.VersionOf(fresh); ver != "v2" {
		t.Fatalf("new value sealed under %s; want v2", ver)
	}
	if got, err := kr2.Open(ctx, "guest.given_name", old); err != nil || got != "Katherine" {
		t.Fatalf("v1 value after rotation: %q, %v", got, err)
	}
	// The worker loaded before the rotation meets a v2 value: it reloads.
	if got, err := kr.Open(ctx, "guest.given_name", fresh); err != nil || got != "Johnson" {
		t.Fatalf("old keyring opening a v2 value: %q, %v; want a reload", got, err)
	}
	if kr.CurrentVersion() != "v2" {
		t.Fatalf("after the reload the old keyring seals under %s; want v2", kr.CurrentVersion())
	}
}

func TestLocalKEKFile(t *testing.T) {
	_, path := newKEK(t)
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v; want 0600", st.Mode().Perm(), err)
	}
	if _, err := pii.CreateLocalKEK(path); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("CreateLocalKEK over an existing file = %v; want a refusal", err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := pii.LoadLocalKEK(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("LoadLocalKEK of a 0644 file = %v; want a refusal naming the fix", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"format":"other"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := pii.LoadLocalKEK(bad); err == nil || !strings.Contains(err.Error(), "not a resingest key file") {
		t.Fatalf("LoadLocalKEK of a foreign file = %v", err)
	}
}

func TestBlindIndex(t *testing.T) {
	kr, _, _ := newKeyring(t)
	other, _, _ := newKeyring(t)
	a := kr.BlindIndex(pii.IndexEmail, " Grace.Hopper@Example.COM ")
	b := kr.BlindIndex(pii.IndexEmail, "grace.hopper@example.com")
	if a != b || len(a) != 32 {
		t.Fatalf("normalised e-mails index to %q and %q; want equal 32-hex values", a, b)
	}
	if strings.Contains(a, "grace") {
		t.Fatal("index reveals the value")
	}
	if c := other.BlindIndex(pii.IndexEmail, "grace.hopper@example.com"); c == a {
		t.Fatal("two keyrings give the same index: it is not keyed")
	}
	if kr.BlindIndex(pii.IndexLoyalty, "AB-123 456") != kr.BlindIndex(pii.IndexLoyalty, "ab123456") {
		t.Fatal("loyalty numbers are not normalised")
	}
	if kr.BlindIndex(pii.IndexLoyalty, "x@y.z") == kr.BlindIndex(pii.IndexEmail, "x@y.z") {
		t.Fatal("kinds share an index space")
	}
	if kr.BlindIndex(pii.IndexEmail, "  ") != "" {
		t.Fatal("an empty value must not be indexed")
	}
}

func TestBlobs(t *testing.T) {
	kr, _, _ := newKeyring(t)
	ctx := t.Context()
	plain := []byte("<Surname>Hopper</Surname>")
	sealed, err := kr.SealBlob("archive:k1", plain)
	if err != nil || !pii.IsSealedBlob(sealed) || strings.Contains(string(sealed), "Hopper") {
		t.Fatalf("SealBlob: %v", err)
	}
	if got, err := kr.OpenBlob(ctx, "archive:k1", sealed); err != nil || string(got) != string(plain) {
		t.Fatalf("OpenBlob = %q, %v", got, err)
	}
	if _, err := kr.OpenBlob(ctx, "archive:k2", sealed); !errors.Is(err, pii.ErrTampered) {
		t.Fatalf("blob under another purpose = %v; want ErrTampered", err)
	}
	if _, err := kr.OpenBlob(ctx, "archive:k1", sealed[:12]); !errors.Is(err, pii.ErrMalformed) && !errors.Is(err, pii.ErrTampered) && !errors.Is(err, pii.ErrUnknownKeyVersion) {
		t.Fatalf("truncated blob = %v; want a clear error", err)
	}
	if got, _ := kr.OpenBlob(ctx, "x", []byte("plain")); string(got) != "plain" {
		t.Fatal("an unsealed blob must pass through")
	}
}

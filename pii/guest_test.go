package pii_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/resingest/resingest/pii"
	"github.com/resingest/resingest/reservation"
)

func TestSealGuests(t *testing.T) {
	kr, _, _ := newKeyring(t)
	in := []reservation.Guest{
		{Primary: true, GivenName: "Grace", Surname: "Hopper", Email: "Grace@Example.com", Phone: "+1 555 0100",
			LoyaltyProgram: "GOLD", LoyaltyNumber: "GX-991", City: "Arlington", PostalCode: "22201", Country: "US"},
		{GivenName: "Alan", Surname: "Turing"},
	}
	orig := append([]reservation.Guest(nil), in...)
	sealed, idx, err := kr.SealGuests(in)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, orig) {
		t.Fatal("SealGuests changed its input")
	}
	g := sealed[0]
	for _, v := range []string{g.GivenName, g.Surname, g.Email, g.Phone, g.LoyaltyNumber, g.City, g.PostalCode, g.Country} {
		if !pii.IsSealed(v) {
			t.Fatalf("personal field left plain: %q", v)
		}
	}
	if !g.Primary || g.LoyaltyProgram != "GOLD" {
		t.Fatal("non-personal fields must stay plain")
	}
	if sealed[1].Email != "" || idx[1].Email != "" {
		t.Fatal("an absent e-mail must stay absent and unindexed")
	}
	if idx[0].Email != kr.BlindIndex(pii.IndexEmail, "grace@example.com") || idx[0].Loyalty != kr.BlindIndex(pii.IndexLoyalty, "GX991") {
		t.Fatal("indexes are not the blind indexes of the plain values")
	}
	opened, err := kr.OpenGuests(t.Context(), sealed)
	if err != nil || !reflect.DeepEqual(opened, orig) {
		t.Fatalf("OpenGuests = %+v, %v", opened, err)
	}
	if v := pii.SealedVersion(sealed); v != "v1" {
		t.Fatalf("SealedVersion of sealed guests = %q; want v1", v)
	}
	if v := pii.SealedVersion(orig); v != "" {
		t.Fatalf("SealedVersion of plain guests = %q; want none", v)
	}
	anon := pii.Anonymise(orig)
	if anon[0].Surname != "" || anon[0].Email != "" || !anon[0].Primary || anon[0].LoyaltyProgram != "GOLD" {
		t.Fatalf("Anonymise = %+v", anon[0])
	}
}

func TestReencrypt(t *testing.T) {
	kr, store, kek := newKeyring(t)
	ctx := t.Context()
	sealed, _, _ := kr.SealGuests([]reservation.Guest{{Surname: "Lovelace", Email: "ada@example.com"}})
	legacy := []reservation.Guest{{Surname: "Plain", Email: "plain@example.com"}}
	if _, _, changed, err := kr.Reencrypt(ctx, sealed); err != nil || changed {
		t.Fatalf("values under the current version must not change (changed=%v, %v)", changed, err)
	}
	if _, err := pii.Rotate(ctx, store, kek); err != nil {
		t.Fatal(err)
	}
	if err := kr.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string][]reservation.Guest{"v1": sealed, "plain": legacy} {
		out, idx, changed, err := kr.Reencrypt(ctx, in)
		if err != nil || !changed {
			t.Fatalf("%s: Reencrypt changed=%v, %v", name, changed, err)
		}
		if v, _ := pii.VersionOf(out[0].Surname); v != "v2" {
			t.Fatalf("%s: re-sealed under %q; want v2", name, v)
		}
		plain, err := kr.OpenGuests(ctx, out)
		if err != nil || plain[0].Surname == "" || strings.HasPrefix(plain[0].Surname, pii.SealedPrefix) {
			t.Fatalf("%s: %v", name, err)
		}
		if idx[0].Email != kr.BlindIndex(pii.IndexEmail, plain[0].Email) {
			t.Fatalf("%s: index not recomputed from the plain value", name)
		}
	}
}

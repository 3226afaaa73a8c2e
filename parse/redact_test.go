package parse_test

import (
	"bytes"
	"io/fs"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"

	"os"

	"github.com/resingest/resingest/bench/corpus"
	"github.com/resingest/resingest/parse"
	"github.com/resingest/resingest/redact"
	"github.com/resingest/resingest/reservation"
)

// sameRecordsButPayment reports how the records of a redacted message differ
// from the original's: every field but payment must be identical, and
// payment keeps its card code, last four digits and expiry.
func sameRecordsButPayment(want, got []reservation.Reservation) string {
	if len(got) != len(want) {
		return "a different number of records"
	}
	for i := range want {
		w, g := want[i], got[i]
		if g.Payment != w.Payment {
			return "payment changed: " + g.Payment.Last4 + " vs " + w.Payment.Last4
		}
		w.Payment, g.Payment = reservation.Payment{}, reservation.Payment{}
		if !reflect.DeepEqual(w, g) {
			return "record changed"
		}
	}
	return ""
}

// TestRedactKeepsGeneratedRecords redacts 100,000 generated messages full of
// Luhn-valid phones, loyalty and reservation numbers and message ids: every
// redacted message extracts the same records (payment's last4 included) and
// holds none of the full card numbers the generator used.
func TestRedactKeepsGeneratedRecords(t *testing.T) {
	const total = 100_000
	p, err := parse.New(parse.Options{Engine: parse.EngineFast})
	if err != nil {
		t.Fatal(err)
	}
	var pans [][]byte
	for _, pan := range corpus.TestCardNumbers() {
		pans = append(pans, []byte(pan))
	}
	batches := make(chan []corpus.Message, 4)
	go func() {
		defer close(batches)
		g := corpus.New(corpus.Options{Seed: 14})
		for n := 0; n < total; {
			batch := make([]corpus.Message, 0, 500)
			for ; len(batch) < cap(batch) && n < total; n++ {
				batch = append(batch, g.Next())
			}
			batches <- batch
		}
	}()
	var (
		mu       sync.Mutex
		failures int
		unmasked int
		wg       sync.WaitGroup
	)
	fail := func(m corpus.Message, format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if failures++; failures <= 10 {
			t.Errorf("%s: "+format, append([]any{m.Name}, args...)...)
		}
	}
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			for batch := range batches {
				for _, m := range batch {
					want, err := p.Parse(m.XML)
					if err != nil {
						fail(m, "original rejected: %v", err)
						continue
					}
					redacted := redact.Redact(m.XML)
					got, err := p.Parse(redacted)
					if err != nil {
						fail(m, "redacted message rejected: %v", err)
						continue
					}
					if diff := sameRecordsButPayment(want, got); diff != "" {
						fail(m, "%s", diff)
					}
					if m.Expect.CardUnmasked {
						n++
					}
					for _, pan := range pans {
						if bytes.Contains(redacted, pan) {
							fail(m, "a full card number survived redaction")
						}
					}
				}
			}
			mu.Lock()
			unmasked += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	if unmasked < 1000 {
		t.Errorf("only %d messages with a full card number: the test proves little", unmasked)
	}
	if failures > 10 {
		t.Errorf("%d failures in all", failures)
	}
}

// TestRedactKeepsSampleRecords checks every public sample and every message
// in testdata with both engines.
func TestRedactKeepsSampleRecords(t *testing.T) { eachEngine(t, testRedactKeepsSampleRecords) }

func testRedactKeepsSampleRecords(t *testing.T) {
	var files []string
	for _, dir := range []string{samplesDir, "testdata"} {
		filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".xml") {
				files = append(files, path)
			}
			return nil
		})
	}
	if len(files) < 10 {
		t.Fatalf("only %d samples found", len(files))
	}
	p, _ := newParser(parse.Options{})
	for _, f := range files {
		msg, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			redacted := redact.Redact(msg)
			if len(redacted) != len(msg) {
				t.Errorf("length %d after redaction, was %d", len(redacted), len(msg))
			}
			want, wantErr := p.Parse(msg)
			got, gotErr := p.Parse(redacted)
			switch {
			case wantErr != nil && gotErr == nil, wantErr == nil && gotErr != nil:
				t.Fatalf("parse error %v before redaction, %v after", wantErr, gotErr)
			case wantErr == nil:
				if diff := sameRecordsButPayment(want, got); diff != "" {
					t.Error(diff)
				}
			}
			for _, r := range want {
				if len(r.Payment.Last4) == 4 && !bytes.Contains(redacted, []byte(r.Payment.Last4)) {
					t.Errorf("last4 %s gone", r.Payment.Last4)
				}
			}
		})
	}
}

// TestRedactCases pins what is masked and what never is.
func TestRedactCases(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		want       string // the whole redacted message, when given
		gone, kept []string
	}{
		{name: "card attribute keeps last4", in: `<PaymentCard CardCode="VI" CardNumber="4111111111111111" SeriesCode="737" ExpireDate="1229"/>`,
			want: `<PaymentCard CardCode="VI" CardNumber="XXXXXXXXXXXX1111" SeriesCode="XXX" ExpireDate="1229"/>`},
		{name: "card element and plain text", in: `<CardNumber><PlainText>5555 5555 5555 4444</PlainText></CardNumber><SeriesCode><PlainText>123</PlainText></SeriesCode>`,
			want: `<CardNumber><PlainText>XXXX XXXX XXXX 4444</PlainText></CardNumber><SeriesCode><PlainText>XXX</PlainText></SeriesCode>`},
		{name: "token", in: `<CardNumber Token="4242424242424242" Mask="XXXXXXXXXXXX4242"/>`,
			want: `<CardNumber Token="XXXXXXXXXXXX4242" Mask="XXXXXXXXXXXX4242"/>`},
		{name: "bank account", in: `<BankAcct BankAcctNumber='98765432109' BankID="12345678"/>`,
			want: `<BankAcct BankAcctNumber='XXXXXXX2109' BankID="12345678"/>`},
		{name: "ws-security password", in: `<wsse:UsernameToken><wsse:Username>crs</wsse:Username><wsse:Password Type="PasswordText">s3cret 4you!</wsse:Password></wsse:UsernameToken>`,
			want: `<wsse:UsernameToken><wsse:Username>crs</wsse:Username><wsse:Password Type="PasswordText">XXXXXX XXXXX</wsse:Password></wsse:UsernameToken>`},
		{name: "card in a comment", in: `<r><!-- guest card 4012888888881881 --></r>`,
			want: `<r><!-- guest card XXXXXXXXXXXX1881 --></r>`},
		{name: "card in CDATA", in: `<Text><![CDATA[pay with 378282246310005 <now>]]></Text>`,
			want: `<Text><![CDATA[pay with XXXXXXXXXXX0005 <now>]]></Text>`},
		{name: "card split by spaces in free text", in: `<SpecialRequest><Text>card 4111 1111 1111 1111 exp 12/29, 2 nights</Text></SpecialRequest>`,
			want: `<SpecialRequest><Text>card XXXX XXXX XXXX 1111 exp 12/29, 2 nights</Text></SpecialRequest>`},
		{name: "card split by dashes in free text", in: `<Comment><Text>3782-822463-10005</Text></Comment>`,
			want: `<Comment><Text>XXXX-XXXXXX-X0005</Text></Comment>`},
		{name: "card followed by more digit groups", in: `<Text>4111 1111 1111 1111 2 3</Text>`,
			gone: []string{"4111 1111 1111 1111"}, kept: []string{"1111 2 3"}},
		{name: "card in an unknown attribute", in: `<TPA_Extensions><Remark Value="cc 4111111111111111"/></TPA_Extensions>`,
			gone: []string{"4111111111111111"}},
		{name: "16-digit Luhn-valid phone stays", in: `<Telephone PhoneNumber="4111111111111111"/><Telephone PhoneNumber="+971 0509 2073 3333"/>`,
			want: `<Telephone PhoneNumber="4111111111111111"/><Telephone PhoneNumber="+971 0509 2073 3333"/>`},
		{name: "phones in every notation stay", in: `<Telephone PhoneNumber="+9710509207333"/><Telephone PhoneNumber="0045-189-024750"/><PhoneNumber>+1 (212) 5550-19873</PhoneNumber>`,
			want: `<Telephone PhoneNumber="+9710509207333"/><Telephone PhoneNumber="0045-189-024750"/><PhoneNumber>+1 (212) 5550-19873</PhoneNumber>`},
		{name: "identifiers stay", in: `<wsa:MessageID>urn:uuid:40128888-8888-1881-8000-000000000000</wsa:MessageID><UniqueID Type="14" ID="4111111111111111"/>` +
			`<HotelReservationID ResID_Type="13" ResID_Value="5555555555554444"/><CustLoyalty MembershipID="6011111111111117"/><Email>4111111111111111@example.com</Email>` +
			`<ConfirmationNumber>4012888888881881</ConfirmationNumber>`,
			want: `<wsa:MessageID>urn:uuid:40128888-8888-1881-8000-000000000000</wsa:MessageID><UniqueID Type="14" ID="4111111111111111"/>` +
				`<HotelReservationID ResID_Type="13" ResID_Value="5555555555554444"/><CustLoyalty MembershipID="6011111111111117"/><Email>4111111111111111@example.com</Email>` +
				`<ConfirmationNumber>4012888888881881</ConfirmationNumber>`},
		{name: "non-Luhn run in free text stays", in: `<Text>conf 1234567890123</Text>`, want: `<Text>conf 1234567890123</Text>`},
		{name: "not well-formed", in: `<PaymentCard CardNumber="4111111111111111"></Oops><Text>4012888888881881`,
			gone: []string{"4111111111111111", "4012888888881881"}},
		{name: "unterminated attribute", in: `<PaymentCard CardNumber="4111111111111111`, want: `<PaymentCard CardNumber="XXXXXXXXXXXX1111`},
		{name: "prefix and case", in: `<ota:paymentcard ota:cardnumber="4111111111111111" ota:SERIESCODE="737"/>`,
			want: `<ota:paymentcard ota:cardnumber="XXXXXXXXXXXX1111" ota:SERIESCODE="XXX"/>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(redact.Redact([]byte(tt.in)))
			if tt.want != "" && got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if len(got) != len(tt.in) {
				t.Errorf("length changed")
			}
			for _, s := range tt.gone {
				if strings.Contains(got, s) {
					t.Errorf("%q survived: %s", s, got)
				}
			}
			for _, s := range tt.kept {
				if !strings.Contains(got, s) {
					t.Errorf("%q lost: %s", s, got)
				}
			}
			if again := string(redact.Redact([]byte(got))); again != got {
				t.Errorf("not idempotent: %s", again)
			}
		})
	}
}

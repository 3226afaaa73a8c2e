package console

import (
	"strings"
	"testing"

	"github.com/resingest/resingest/reservation"
)

// TestOpsMasksRequestText: for the ops role the special requests' text is
// masked like a guest's personal fields, in the record's fields and in the
// raw message (Text of a SpecialRequest or Comment, @RequestComments);
// codes, names and other Text elements stay. ops-pii sees it all.
func TestOpsMasksRequestText(t *testing.T) {
	t.Parallel()
	r := reservation.Reservation{SpecialRequests: []reservation.SpecialRequest{{Code: "ACC", Name: "access", Text: "wheelchair"}}}
	for _, pii := range []bool{false, true} {
		f := flatten(&r, pii)
		wantText := "***"
		if pii {
			wantText = "wheelchair"
		}
		if f["special_requests[0].text"] != wantText || f["special_requests[0].code"] != "ACC" || f["special_requests[0].name"] != "access" {
			t.Errorf("pii=%v: fields %v", pii, f)
		}
	}
	msg := `<R><SpecialRequests><SpecialRequest RequestCode="ACC" RequestComments="step-free"><Text>wheelchair</Text></SpecialRequest></SpecialRequests>` +
		`<Comments><Comment><Text>anniversary</Text></Comment></Comments><Description><Text>Sea view</Text></Description></R>`
	out, err := prettyXML([]byte(msg), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"wheelchair", "step-free", "anniversary"} {
		if strings.Contains(out, gone) {
			t.Errorf("ops sees %q:\n%s", gone, out)
		}
	}
	for _, kept := range []string{`RequestCode="ACC"`, "Sea view"} {
		if !strings.Contains(out, kept) {
			t.Errorf("ops lost %q:\n%s", kept, out)
		}
	}
	if out, _ := prettyXML([]byte(msg), true); !strings.Contains(out, "wheelchair") || !strings.Contains(out, "step-free") {
		t.Errorf("ops-pii does not see the requests:\n%s", out)
	}
}

package parse_test

import (
	"testing"

	"github.com/resingest/resingest/reservation"
)

// TestVendorDialects pins the dialects the ota2003 mapping reads as data
// (parse/mappings/ota2003.yaml), each in the smallest message that shows it.
func TestVendorDialects(t *testing.T) { eachEngine(t, testVendorDialects) }

func testVendorDialects(t *testing.T) {
	type want struct {
		action, confirmation, hotel string
		ids                         int
	}
	cases := []struct {
		name string
		msg  string
		want []want
	}{
		{"reservation ids directly under the message root",
			`<OTA_HotelResNotifRQ xmlns="` + otaNS + `"><HotelReservationIDs><HotelReservationID ResID_Type="14" ResID_Value="R-77"/></HotelReservationIDs>` +
				`<HotelReservations><HotelReservation>` + stay(``) + `</HotelReservation></HotelReservations></OTA_HotelResNotifRQ>`,
			[]want{{"create", "R-77", "H1", 1}}},
		{"reservation ids directly under the reservation",
			notif(``, `<HotelReservation><HotelReservationIDs><HotelReservationID ResID_Type="14" ResID_Value="R-78"/></HotelReservationIDs>`+stay(``)+`</HotelReservation>`),
			[]want{{"create", "R-78", "H1", 1}}},
		{"OTA_CancelRQ with its ids under the root, hotel as the requestor (UIT 10)",
			`<OTA_CancelRQ xmlns="` + otaNS + `"><POS><Source><RequestorID Type="10" ID="HOTEL9"/></Source></POS>` +
				`<HotelReservationIDs><HotelReservationID ResID_Type="14" ResID_Value="R-79"/></HotelReservationIDs></OTA_CancelRQ>`,
			[]want{{"cancel", "R-79", "HOTEL9", 1}}},
		{"a requestor that is not a hotel gives no hotel code",
			`<OTA_CancelRQ xmlns="` + otaNS + `"><POS><Source><RequestorID Type="22" ID="SYNXIS"/></Source></POS><UniqueID Type="14" ID="R-80"/></OTA_CancelRQ>`,
			[]want{{"cancel", "R-80", "", 1}}},
		{"cancel verification names the hotel as a vendor",
			`<OTA_CancelRQ xmlns="` + otaNS + `"><UniqueID Type="14" ID="R-81"/><Verification><Vendor Code="1" CodeContext="ChainCode"/><Vendor Code="3" CodeContext="HotelCode">HV3</Vendor></Verification></OTA_CancelRQ>`,
			[]want{{"cancel", "R-81", "HV3", 1}}},
		{"OTA_CancelRS Status Cancelled, hotel in the SOAP header only",
			`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><Interface xmlns="http://www.newtrade.com/expedia/R14/header"><PayloadInfo><PayloadDescriptor Name="OTA_CancelRS"><PayloadReference SupplierHotelCode="EX1"/></PayloadDescriptor></PayloadInfo></Interface></s:Header>` +
				`<s:Body><OTA_CancelRS xmlns="` + otaNS + `" Status="Cancelled"><Success/><UniqueID Type="14" ID="R-82"/><CancelInfoRS><UniqueID Type="15" ID="X-1"/></CancelInfoRS></OTA_CancelRS></s:Body></s:Envelope>`,
			[]want{{"cancel", "R-82", "EX1", 2}}},
		{"OTA_CancelRS that did not cancel stays a create",
			`<OTA_CancelRS xmlns="` + otaNS + `" Status="Unsuccessful"><UniqueID Type="14" ID="R-83"/></OTA_CancelRS>`,
			[]want{{"create", "R-83", "", 1}}},
		{"a response's reservation with Status Cancelled",
			`<OTA_HotelResRS xmlns="` + otaNS + `"><HotelReservations><HotelReservation Status="Cancelled"><UniqueID Type="14" ID="R-84"/>` + stay(``) + `</HotelReservation></HotelReservations></OTA_HotelResRS>`,
			[]want{{"cancel", "R-84", "H1", 1}}},
		{"booking request and its response give the same key",
			`<OTA_HotelResRQ xmlns="` + otaNS + `"><HotelReservations><HotelReservation><UniqueID Type="14" ID="R-85"/>` + stay(``) + `</HotelReservation></HotelReservations></OTA_HotelResRQ>`,
			[]want{{"create", "R-85", "H1", 1}}},
		{"HotelResModifies container",
			`<OTA_HotelResModifyRQ xmlns="` + otaNS + `"><HotelResModifies><HotelResModify><UniqueID Type="14" ID="R-86"/>` + stay(``) + `</HotelResModify></HotelResModifies></OTA_HotelResModifyRQ>`,
			[]want{{"modify", "R-86", "H1", 1}}},
		{"CDATA values",
			notif(``, `<HotelReservation><UniqueID Type="14" ID="R-87"/><ResGlobalInfo><HotelReservationIDs><HotelReservationID ResID_Type="3" ResID_Value="x"/></HotelReservationIDs></ResGlobalInfo>`+
				`<Verification><Vendor CodeContext="HotelCode"><![CDATA[CD1]]></Vendor></Verification></HotelReservation>`),
			// Verification is under the message root, not here: no hotel.
			[]want{{"create", "R-87", "", 2}}},
		{"CDATA hotel code in a cancel's verification",
			`<OTA_CancelRQ xmlns="` + otaNS + `"><UniqueID Type="14" ID="R-88"/><Verification><Vendor CodeContext="HotelCode"><![CDATA[CD2]]></Vendor></Verification></OTA_CancelRQ>`,
			[]want{{"cancel", "R-88", "CD2", 1}}},
		{"confirmations with / and |",
			notif(``, `<HotelReservation><UniqueID Type="14" ID="AB/12|3"/>`+stay(``)+`</HotelReservation><HotelReservation><UniqueID Type="14" ID="|/"/>`+stay(``)+`</HotelReservation>`),
			[]want{{"create", "AB/12|3", "H1", 1}, {"create", "|/", "H1", 1}}},
		{"several reservations with one confirmation in one retrieve response",
			`<OTA_ResRetrieveRS xmlns="` + otaNS + `"><Success/><ReservationsList>` +
				`<HotelReservation ResStatus="Reserved" CreateDateTime="2026-01-01T10:00:00Z"><UniqueID Type="14" ID="R-89"/>` + stay(``) + `</HotelReservation>` +
				`<HotelReservation ResStatus="Cancelled" LastModifyDateTime="2026-01-02T10:00:00Z"><UniqueID Type="14" ID="R-89"/>` + stay(``) + `</HotelReservation>` +
				`</ReservationsList></OTA_ResRetrieveRS>`,
			[]want{{"create", "R-89", "H1", 1}, {"cancel", "R-89", "H1", 1}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			recs := mustParse(t, tc.msg)
			if len(recs) != len(tc.want) {
				t.Fatalf("got %d records, want %d", len(recs), len(tc.want))
			}
			for i, w := range tc.want {
				r := recs[i]
				got := want{r.Action, r.Confirmation, r.HotelCode, len(r.ExternalIDs)}
				if got != w {
					t.Errorf("record %d: (action, confirmation, hotel, ids) = %+v, want %+v", i+1, got, w)
				}
			}
		})
	}
}

// TestMissingHotelCodeIsNotRejected: the parser prints a record without a
// hotel code (key resolution decides downstream); record validation still
// names the field, so no store ever keeps it as it is.
func TestMissingHotelCodeIsNotRejected(t *testing.T) {
	eachEngine(t, testMissingHotelCodeIsNotRejected)
}

func testMissingHotelCodeIsNotRejected(t *testing.T) {
	r := one(t, `<OTA_CancelRQ xmlns="`+otaNS+`"><UniqueID Type="14" ID="R-90"/></OTA_CancelRQ>`)
	if r.HotelCode != "" || r.Confirmation != "R-90" || r.Action != reservation.ActionCancel {
		t.Fatalf("record = %+v", r)
	}
}

package corpus

// The embedded lists below are small on purpose: they give the corpus the
// variety real traffic has (non-ASCII names, several currencies, time zones
// with half-hour offsets) without shipping a data set.

// city is a place where hotels stand and guests live.
type city struct {
	name        string
	country     string // ISO 3166 alpha-2
	countryName string
	state       string // StateProv code, "" where not used
	currency    string
	offsetMin   int    // UTC offset in minutes (standard time; the corpus ignores DST)
	taxBP       int64  // room tax in basis points
	fxMilli     int64  // local currency units per 1000 USD-units
	phoneCC     string // country calling code
	postal      string // '#' is a digit, '@' an upper-case letter
	streets     [2]string
}

var cities = []city{
	{"New York", "US", "United States", "NY", "USD", -300, 1475, 1000, "1", "100##", [2]string{"Madison Avenue", "West 57th Street"}},
	{"Chicago", "US", "United States", "IL", "USD", -360, 1740, 1000, "1", "606##", [2]string{"North Michigan Avenue", "West Randolph Street"}},
	{"San Francisco", "US", "United States", "CA", "USD", -480, 1400, 1000, "1", "941##", [2]string{"Market Street", "Geary Boulevard"}},
	{"Miami", "US", "United States", "FL", "USD", -300, 1300, 1000, "1", "331##", [2]string{"Collins Avenue", "Brickell Avenue"}},
	{"Honolulu", "US", "United States", "HI", "USD", -600, 1800, 1000, "1", "968##", [2]string{"Kalakaua Avenue", "Ala Moana Boulevard"}},
	{"Toronto", "CA", "Canada", "ON", "CAD", -300, 1300, 1360, "1", "M5V #@#", [2]string{"King Street West", "Front Street"}},
	{"Montréal", "CA", "Canada", "QC", "CAD", -300, 1498, 1360, "1", "H3B #@#", [2]string{"Rue Sainte-Catherine", "Boulevard René-Lévesque"}},
	{"Ciudad de México", "MX", "Mexico", "", "MXN", -360, 1900, 17100, "52", "06###", [2]string{"Paseo de la Reforma", "Avenida Insurgentes Sur"}},
	{"São Paulo", "BR", "Brazil", "SP", "BRL", -180, 500, 5000, "55", "01###-###", [2]string{"Avenida Paulista", "Rua Oscar Freire"}},
	{"London", "GB", "United Kingdom", "", "GBP", 0, 2000, 790, "44", "SW1A #@@", [2]string{"Piccadilly", "Strand"}},
	{"Edinburgh", "GB", "United Kingdom", "", "GBP", 0, 2000, 790, "44", "EH# #@@", [2]string{"Princes Street", "Royal Mile"}},
	{"Dublin", "IE", "Ireland", "", "EUR", 0, 1350, 920, "353", "D0# @###", [2]string{"Grafton Street", "O'Connell Street"}},
	{"Paris", "FR", "France", "", "EUR", 60, 1000, 920, "33", "750##", [2]string{"Rue de Rivoli", "Boulevard Haussmann"}},
	{"Lyon", "FR", "France", "", "EUR", 60, 1000, 920, "33", "690##", [2]string{"Rue de la République", "Quai Saint-Antoine"}},
	{"München", "DE", "Germany", "BY", "EUR", 60, 700, 920, "49", "80###", [2]string{"Maximilianstraße", "Leopoldstraße"}},
	{"Berlin", "DE", "Germany", "BE", "EUR", 60, 700, 920, "49", "10###", [2]string{"Unter den Linden", "Kurfürstendamm"}},
	{"Köln", "DE", "Germany", "NW", "EUR", 60, 700, 920, "49", "50###", [2]string{"Hohe Straße", "Schildergasse"}},
	{"Zürich", "CH", "Switzerland", "ZH", "CHF", 60, 380, 880, "41", "80##", [2]string{"Bahnhofstrasse", "Limmatquai"}},
	{"Wien", "AT", "Austria", "", "EUR", 60, 1000, 920, "43", "10#0", [2]string{"Kärntner Straße", "Mariahilfer Straße"}},
	{"Madrid", "ES", "Spain", "", "EUR", 60, 1000, 920, "34", "280##", [2]string{"Gran Vía", "Calle de Alcalá"}},
	{"Barcelona", "ES", "Spain", "", "EUR", 60, 1000, 920, "34", "080##", [2]string{"Passeig de Gràcia", "La Rambla"}},
	{"Lisboa", "PT", "Portugal", "", "EUR", 0, 600, 920, "351", "1###-###", [2]string{"Avenida da Liberdade", "Rua Augusta"}},
	{"Roma", "IT", "Italy", "", "EUR", 60, 1000, 920, "39", "001##", [2]string{"Via del Corso", "Via Veneto"}},
	{"Amsterdam", "NL", "Netherlands", "", "EUR", 60, 900, 920, "31", "10## @@", [2]string{"Damrak", "Prinsengracht"}},
	{"København", "DK", "Denmark", "", "DKK", 60, 2500, 6870, "45", "1###", [2]string{"Strøget", "Nyhavn"}},
	{"Stockholm", "SE", "Sweden", "", "SEK", 60, 1200, 10400, "46", "111 ##", [2]string{"Drottninggatan", "Strandvägen"}},
	{"Kraków", "PL", "Poland", "", "PLN", 60, 800, 3950, "48", "31-###", [2]string{"Floriańska", "Grodzka"}},
	{"Athína", "GR", "Greece", "", "EUR", 120, 1300, 920, "30", "105 ##", [2]string{"Ermou", "Vasilissis Sofias"}},
	{"İstanbul", "TR", "Türkiye", "", "TRY", 180, 1000, 32000, "90", "344##", [2]string{"İstiklal Caddesi", "Bağdat Caddesi"}},
	{"Dubai", "AE", "United Arab Emirates", "DU", "AED", 240, 1000, 3670, "971", "", [2]string{"Sheikh Zayed Road", "Jumeirah Beach Road"}},
	{"Mumbai", "IN", "India", "MH", "INR", 330, 1800, 83000, "91", "4000##", [2]string{"Marine Drive", "Linking Road"}},
	{"Singapore", "SG", "Singapore", "", "SGD", 480, 900, 1340, "65", "0#####", [2]string{"Orchard Road", "Marina Boulevard"}},
	{"Tokyo", "JP", "Japan", "13", "JPY", 540, 1000, 150000, "81", "1##-####", [2]string{"Ginza Chūō-dōri", "Omotesandō"}},
	{"Sydney", "AU", "Australia", "NSW", "AUD", 600, 1000, 1520, "61", "2000", [2]string{"George Street", "Circular Quay"}},
	{"Auckland", "NZ", "New Zealand", "", "NZD", 720, 1500, 1640, "64", "10##", [2]string{"Queen Street", "Quay Street"}},
}

var givenNames = []string{
	"James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda",
	"William", "Elizabeth", "David", "Barbara", "Emma", "Olivia", "Liam", "Noah",
	"José", "María", "François", "Chloé", "Zoë", "Jürgen", "Søren", "Ana",
	"Mohammed", "Fatima", "Wei", "Yuki", "Priya", "Olga", "Łukasz", "Björn",
	"Siobhán", "Ngozi", "Aiko", "Mateo", "Hiroshi", "Elif", "Ingrid", "Raúl",
	"Anaïs", "Lars", "Giulia", "Matthias", "Sofía", "Dmitri", "Ayşe", "Renée",
	"Thomas", "Sarah", "Daniel", "Laura", "Paul", "Anna", "Marco", "Julia",
	"Ahmed", "Mei", "Kenji", "Aoife", "Pierre", "Camille", "Joaquín", "Inês",
}

var surnames = []string{
	"Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson",
	"Müller", "Schmidt", "Schneider", "Weiß", "García", "Fernández", "López", "Hernández",
	"Dubois", "Lefèvre", "Martin", "Bernard", "Rossi", "Russo", "Costa", "Silva",
	"Kowalski", "Nowak", "Nguyen", "Tanaka", "Sato", "Kim", "Patel", "Khan",
	"Jensen", "Nielsen", "Andersson", "Lindqvist", "Papadopoulos", "Yılmaz", "Novák", "Øvergaard",
	"O'Brien", "Murphy", "Kelly", "van der Berg", "de Jong", "Ivanova", "Wang", "Li",
	"Taylor", "Anderson", "Thomas", "Moore", "Jackson", "White", "Harris", "Clark",
	"Fischer", "Becker", "Gonçalves", "Kovačević", "Björklund", "Horváth", "Ferreira", "Mäkinen",
}

// emailDomains are reserved for documentation (RFC 2606), so no generated
// address can reach a real mailbox.
var emailDomains = []string{"example.com", "example.net", "example.org", "mail.example", "inbox.example"}

var prefixes = []string{"Mr", "Ms", "Mrs", "Dr", ""}

type roomType struct {
	code, name, text string
	factor           int64 // percent of the hotel's base rate
}

var roomTypes = []roomType{
	{"KNG", "Standard King", "Standard room with one king bed", 100},
	{"QQN", "Standard Queen Queen", "Standard room with two queen beds", 105},
	{"DBL", "Double", "Double room, city view", 95},
	{"TWN", "Twin", "Twin room with two single beds", 95},
	{"DKNG", "Deluxe King", "Deluxe king room, high floor", 130},
	{"EXEC", "Executive", "Executive room with lounge access", 160},
	{"JRST", "Junior Suite", "Junior suite with separate sitting area", 190},
	{"STE", "One Bedroom Suite", "One bedroom suite with living room", 250},
}

type ratePlan struct {
	code, name string
	factor     int64 // percent applied to the room rate
}

var ratePlans = []ratePlan{
	{"BAR", "Best Available Rate", 100},
	{"BARBB", "Best Available Rate, breakfast included", 115},
	{"ADV14", "Advance purchase 14 days, non refundable", 82},
	{"AAA", "AAA / CAA member rate", 90},
	{"GOV", "Government rate", 85},
	{"CORP1", "Corporate negotiated rate", 88},
	{"PKGPK", "Parking package", 108},
	{"MEMBR", "Member exclusive rate", 93},
}

type chain struct {
	code, brand, program string
}

var chains = []chain{
	{"AZ", "AZH", "AZR"},
	{"NV", "NVS", "NVC"},
	{"BL", "BLU", "BLP"},
	{"CT", "CTY", "CTR"},
	{"SR", "SRN", "SRC"},
	{"MQ", "MQL", "MQR"},
}

var hotelNameWords = [2][]string{
	{"Grand", "Harbour", "Park", "Central", "Riverside", "Royal", "Garden", "Plaza", "Metropolitan", "Old Town"},
	{"Hotel", "Suites", "Inn", "Resort", "Residences", "Palace"},
}

// channel is the system a booking came through (POS / BookingChannel).
type channel struct {
	requestor, code, name, chType string
	idSource                      string // source of the channel's own booking id; "" when it has none
}

var channels = []channel{
	{"BDC", "BDC", "Booking.com", "7", "Booking.com"},
	{"EXP", "EXP", "Expedia", "7", "Expedia"},
	{"1A", "1A", "Amadeus", "1", "Amadeus"},
	{"1S", "1S", "Sabre", "1", "Sabre"},
	{"WEB", "WEB", "Brand website", "4", ""},
	{"CRO", "CRO", "Central reservations office", "5", ""},
	{"HBD", "HBD", "Hotelbeds", "7", "Hotelbeds"},
}

// crsSources name the central reservation systems that issue a second id.
var crsSources = []string{"SynXis", "Pegasus", "Opera", "Amadeus HDP"}

var specialRequests = []struct{ code, text string }{
	{"HF", "High floor, away from the elevator"},
	{"LA", "Late arrival around 23:00"},
	{"NS", "Non-smoking room please"},
	{"CR", "Baby cot required"},
	{"QR", "Quiet room if possible"},
	{"EC", "Early check-in requested"},
	{"AN", "Celebrating an anniversary"},
	{"FB", "Feather-free bedding, allergy"},
}

var arrivalTimes = []string{"12:00:00", "14:00:00", "15:00:00", "16:30:00", "18:00:00", "21:00:00", "23:30:00"}

var actionURIs = []string{
	"http://htng.org/2014B/HTNG2014B_SubmitRequest",
	"http://htng.org/PWS/2008B/SingleGuestItinerary#HotelResNotif",
}

package parse_test

import "regexp"

var panPattern = regexp.MustCompile(`\d{13,19}`)

// cardNumbersIn returns every 13-19 digit run of a message: the candidates a
// card number could be.
func cardNumbersIn(msg []byte) [][]byte {
	return panPattern.FindAll(msg, -1)
}

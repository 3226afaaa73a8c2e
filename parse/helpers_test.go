package parse_test

import (
	"regexp"
	"testing"

	"github.com/resingest/resingest/parse"
)

var panPattern = regexp.MustCompile(`\d{13,19}`)

// cardNumbersIn returns every 13-19 digit run of a message: the candidates a
// card number could be.
func cardNumbersIn(msg []byte) [][]byte {
	return panPattern.FindAll(msg, -1)
}

// engine is the engine newParser gives parsers; eachEngine sets it.
var engine = parse.EngineFast

// eachEngine runs a test once per engine: the rules, goldens and hostile
// inputs must hold for both.
func eachEngine(t *testing.T, test func(t *testing.T)) {
	t.Helper()
	for _, e := range parse.Engines() {
		t.Run(e, func(t *testing.T) {
			defer func(prev string) { engine = prev }(engine)
			engine = e
			test(t)
		})
	}
}

// newParser is parse.New with the engine under test.
func newParser(opts parse.Options) (*parse.Parser, error) {
	if opts.Engine == "" {
		opts.Engine = engine
	}
	return parse.New(opts)
}

package parse

// MaxBytes returns the largest message the parser accepts (Limits.MaxBytes
// with its default applied). Sources and the pipeline refuse larger
// messages before holding them whole.
func (p *Parser) MaxBytes() int { return p.limits.MaxBytes }

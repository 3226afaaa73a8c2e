package parse

import (
	"slices"
	"strconv"
	"strings"
)

// evaluator runs compiled fast expressions over a tape. Node sets are
// sorted index lists: element indexes into tape.elems, or attribute indexes
// into tape.attrs (both are in document order). Buffers are recycled.
type evaluator struct {
	t    *tape
	free [][]int32
}

func (ev *evaluator) get() []int32 {
	if n := len(ev.free); n > 0 {
		b := ev.free[n-1]
		ev.free = ev.free[:n-1]
		return b[:0]
	}
	return make([]int32, 0, 16)
}

func (ev *evaluator) put(b []int32) { ev.free = append(ev.free, b) }

// set appends the node set of e from context ctx to out, in document order
// without duplicates.
func (ev *evaluator) set(e *fexpr, ctx int32, out []int32) []int32 {
	switch e.kind {
	case fPath:
		return ev.path(&e.path, ctx, out)
	case fUnion:
		base := len(out)
		for _, k := range e.kids {
			out = ev.set(k, ctx, out)
		}
		return sortUnique(out, base)
	case fFilter:
		tmp := ev.set(e.kids[0], ctx, ev.get())
		if e.pos <= len(tmp) {
			out = append(out, tmp[e.pos-1])
		}
		ev.put(tmp)
	}
	return out
}

// sortUnique makes out[base:] a node set.
func sortUnique(out []int32, base int) []int32 {
	s := out[base:]
	for i := 1; i < len(s); i++ {
		if s[i] <= s[i-1] {
			slices.Sort(s)
			return append(out[:base], slices.Compact(s)...)
		}
	}
	return out
}

func (ev *evaluator) path(p *fpath, ctx int32, out []int32) []int32 {
	if p.abs {
		ctx = 0
	}
	if len(p.steps) == 0 {
		return append(out, ctx)
	}
	cur := append(ev.get(), ctx)
	for i := range p.steps {
		next := ev.get()
		for _, c := range cur {
			next = ev.step(&p.steps[i], c, next)
		}
		ev.put(cur)
		cur = sortUnique(next, 0)
		if len(cur) == 0 {
			break
		}
	}
	out = append(out, cur...)
	ev.put(cur)
	return out
}

func (ev *evaluator) matches(st *fstep, e int32) bool {
	if st.name != "" && ev.t.elems[e].name != st.name {
		return false
	}
	for _, c := range st.conds {
		if !ev.truth(c, e) {
			return false
		}
	}
	return true
}

func (ev *evaluator) step(st *fstep, c int32, out []int32) []int32 {
	elems := ev.t.elems
	switch st.axis {
	case axNode:
		return append(out, c)
	case axSelf:
		if c != 0 && ev.matches(st, c) {
			out = append(out, c)
		}
	case axChild:
		k := 0
		for j := c + 1; j < elems[c].end; j = elems[j].end {
			if ev.matches(st, j) {
				k++
				if st.pos == 0 {
					out = append(out, j)
				} else if k == st.pos {
					return append(out, j)
				}
			}
		}
	case axDesc:
		for j := c + 1; j < elems[c].end; j++ {
			if ev.matches(st, j) {
				out = append(out, j)
			}
		}
	case axAttr:
		for a := elems[c].attr0; a < elems[c].attr1; a++ {
			if st.name == "" || ev.t.attrs[a].name == st.name {
				out = append(out, a)
			}
		}
	}
	return out
}

// text is the XPath string value of a node: an attribute's value, or the
// concatenated text of an element and its descendants.
func (ev *evaluator) text(id int32, attr bool) string {
	if attr {
		return ev.t.attrs[id].value
	}
	el := &ev.t.elems[id]
	switch el.text1 - el.text0 {
	case 0:
		return ""
	case 1:
		return ev.t.texts[el.text0]
	}
	return strings.Join(ev.t.texts[el.text0:el.text1], "")
}

// firstDFS returns the first node of a path without descendant steps: a
// depth-first walk that stops at the first match meets nodes in document
// order, so no node set is built.
func (ev *evaluator) firstDFS(steps []fstep, c int32) (int32, bool) {
	if len(steps) == 0 {
		return c, true
	}
	st := &steps[0]
	elems := ev.t.elems
	switch st.axis {
	case axNode:
		return ev.firstDFS(steps[1:], c)
	case axSelf:
		if c != 0 && ev.matches(st, c) {
			return ev.firstDFS(steps[1:], c)
		}
	case axAttr:
		for a := elems[c].attr0; a < elems[c].attr1; a++ {
			if st.name == "" || ev.t.attrs[a].name == st.name {
				return a, true
			}
		}
	case axChild:
		k := 0
		for j := c + 1; j < elems[c].end; j = elems[j].end {
			if !ev.matches(st, j) {
				continue
			}
			k++
			if st.pos != 0 && k != st.pos {
				continue
			}
			if r, ok := ev.firstDFS(steps[1:], j); ok {
				return r, true
			}
			if st.pos != 0 {
				break
			}
		}
	}
	return 0, false
}

func (ev *evaluator) pathFirst(p *fpath, ctx int32) (int32, bool) {
	if p.abs {
		ctx = 0
	}
	return ev.firstDFS(p.steps, ctx)
}

// truth evaluates e by XPath boolean rules.
func (ev *evaluator) truth(e *fexpr, ctx int32) bool {
	switch e.kind {
	case fPath:
		if e.path.dfs {
			_, ok := ev.pathFirst(&e.path, ctx)
			return ok
		}
		fallthrough
	case fUnion, fFilter:
		s := ev.set(e, ctx, ev.get())
		ok := len(s) > 0
		ev.put(s)
		return ok
	case fOr:
		for _, k := range e.kids {
			if ev.truth(k, ctx) {
				return true
			}
		}
		return false
	case fAnd:
		for _, k := range e.kids {
			if !ev.truth(k, ctx) {
				return false
			}
		}
		return true
	case fEqLit:
		s := ev.set(e.kids[0], ctx, ev.get())
		found := false
		for _, id := range s {
			if ev.text(id, e.kids[0].attrs) == e.lit {
				found = true
				break
			}
		}
		ev.put(s)
		return found
	case fCountEq:
		s := ev.set(e.kids[0], ctx, ev.get())
		n := len(s)
		ev.put(s)
		return float64(n) == e.num
	case fCount:
		s := ev.set(e.kids[0], ctx, ev.get())
		n := len(s)
		ev.put(s)
		return n != 0
	case fLit:
		return e.lit != ""
	case fNum:
		return e.num != 0 && e.num == e.num
	}
	return false
}

// value evaluates e to a trimmed string, as domScope.value does.
func (ev *evaluator) value(e *fexpr, ctx int32) string {
	switch e.kind {
	case fPath:
		if e.path.dfs {
			if id, ok := ev.pathFirst(&e.path, ctx); ok {
				return strings.TrimSpace(ev.text(id, e.attrs))
			}
			return ""
		}
		fallthrough
	case fUnion, fFilter:
		s := ev.set(e, ctx, ev.get())
		v := ""
		if len(s) > 0 {
			v = strings.TrimSpace(ev.text(s[0], e.attrs))
		}
		ev.put(s)
		return v
	case fCount:
		s := ev.set(e.kids[0], ctx, ev.get())
		n := len(s)
		ev.put(s)
		return strconv.FormatFloat(float64(n), 'f', -1, 64)
	case fLit:
		return strings.TrimSpace(e.lit)
	case fNum:
		return strconv.FormatFloat(e.num, 'f', -1, 64)
	}
	if ev.truth(e, ctx) {
		return "true"
	}
	return ""
}

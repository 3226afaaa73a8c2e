package parse

import (
	"strings"

	"github.com/antchfx/xmlquery"
	"github.com/antchfx/xpath"
)

// navigator is an xpath.NodeNavigator over an xmlquery tree whose root is
// always the document, whatever node evaluation starts at, so absolute paths
// ("/Envelope/Header/MessageID") work from any context. (xmlquery's own
// navigator treats its starting node as the root.)
type navigator struct {
	root, curr *xmlquery.Node
	attr       int // index into curr.Attr, or -1 when on the element itself
}

var _ xpath.NodeNavigator = (*navigator)(nil)

// navAt returns a navigator on n within its document.
func navAt(n *xmlquery.Node) *navigator {
	root := n
	for root.Parent != nil {
		root = root.Parent
	}
	return &navigator{root: root, curr: n, attr: -1}
}

func (x *navigator) NodeType() xpath.NodeType {
	switch x.curr.Type {
	case xmlquery.CommentNode:
		return xpath.CommentNode
	case xmlquery.TextNode, xmlquery.CharDataNode, xmlquery.NotationNode:
		return xpath.TextNode
	case xmlquery.DeclarationNode, xmlquery.DocumentNode:
		return xpath.RootNode
	}
	if x.attr != -1 {
		return xpath.AttributeNode
	}
	return xpath.ElementNode
}

func (x *navigator) LocalName() string {
	if x.attr != -1 {
		return x.curr.Attr[x.attr].Name.Local
	}
	return x.curr.Data
}

// Prefix is always empty: names match by local name (see buildDOM).
func (x *navigator) Prefix() string { return "" }

func (x *navigator) Value() string {
	switch x.curr.Type {
	case xmlquery.ElementNode:
		if x.attr != -1 {
			return x.curr.Attr[x.attr].Value
		}
		return x.curr.InnerText()
	case xmlquery.TextNode, xmlquery.CharDataNode, xmlquery.CommentNode:
		return x.curr.Data
	case xmlquery.DocumentNode:
		return x.curr.InnerText()
	}
	return ""
}

func (x *navigator) Copy() xpath.NodeNavigator {
	n := *x
	return &n
}

func (x *navigator) MoveToRoot() { x.curr, x.attr = x.root, -1 }

func (x *navigator) MoveToParent() bool {
	if x.attr != -1 {
		x.attr = -1
		return true
	}
	if p := x.curr.Parent; p != nil {
		x.curr = p
		return true
	}
	return false
}

func (x *navigator) MoveToNextAttribute() bool {
	if x.attr >= len(x.curr.Attr)-1 {
		return false
	}
	x.attr++
	return true
}

func (x *navigator) MoveToChild() bool {
	if x.attr != -1 {
		return false
	}
	if c := x.curr.FirstChild; c != nil {
		x.curr = c
		return true
	}
	return false
}

func (x *navigator) MoveToFirst() bool {
	if x.attr != -1 || x.curr.PrevSibling == nil {
		return false
	}
	for x.curr.PrevSibling != nil {
		x.curr = x.curr.PrevSibling
	}
	return true
}

func (x *navigator) String() string { return x.Value() }

// MoveToNext skips whitespace-only text, as xmlquery's navigator does.
func (x *navigator) MoveToNext() bool {
	if x.attr != -1 {
		return false
	}
	for n := x.curr.NextSibling; n != nil; n = n.NextSibling {
		if n.Type != xmlquery.TextNode || strings.TrimSpace(n.Data) != "" {
			x.curr = n
			return true
		}
	}
	return false
}

func (x *navigator) MoveToPrevious() bool {
	if x.attr != -1 {
		return false
	}
	for n := x.curr.PrevSibling; n != nil; n = n.PrevSibling {
		if n.Type != xmlquery.TextNode || strings.TrimSpace(n.Data) != "" {
			x.curr = n
			return true
		}
	}
	return false
}

func (x *navigator) MoveTo(other xpath.NodeNavigator) bool {
	o, ok := other.(*navigator)
	if !ok || o.root != x.root {
		return false
	}
	x.curr, x.attr = o.curr, o.attr
	return true
}

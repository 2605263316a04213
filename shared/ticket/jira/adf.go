package jira

import (
	"strings"

	"github.com/driftwatch/driftwatch/shared/ticket"
)

// Node is an Atlassian Document Format node: the document itself (type
// "doc", version 1), a block (paragraph, heading, bulletList, listItem,
// codeBlock) or an inline text node. Only the nodes and marks below are
// ever produced: no links, mentions, cards or media, so nothing in a
// ticket is interpreted beyond plain text.
type Node struct {
	Type    string         `json:"type"`
	Version int            `json:"version,omitempty"`
	Attrs   map[string]any `json:"attrs,omitempty"`
	Content []Node         `json:"content,omitempty"`
	Text    string         `json:"text,omitempty"`
	Marks   []Mark         `json:"marks,omitempty"`
}

// Mark formats a text node: "strong" or "code".
type Mark struct {
	Type string `json:"type"`
}

// Doc renders b as an ADF document. Driftwatch's own text goes into plain
// and strong text nodes; every value from an event or a resource goes into
// a text node with a code mark, and verdict messages into a code block.
// ADF is structured JSON, so a value such as "<script>" or "[x](http://…)"
// stays the literal text it is.
func Doc(b ticket.Body) Node {
	doc := Node{Type: "doc", Version: 1}
	if b.Heading != "" {
		doc.Content = append(doc.Content, heading(2, b.Heading))
	}
	if b.Intro != "" {
		doc.Content = append(doc.Content, paragraph(textNode(b.Intro)))
	}
	for _, s := range b.Sections {
		if len(s.Fields) == 0 && s.Block == "" {
			continue
		}
		doc.Content = append(doc.Content, heading(3, s.Title))
		if len(s.Fields) > 0 {
			list := Node{Type: "bulletList"}
			for _, f := range s.Fields {
				list.Content = append(list.Content, Node{Type: "listItem", Content: []Node{field(f)}})
			}
			doc.Content = append(doc.Content, list)
		}
		if s.Block != "" {
			doc.Content = append(doc.Content, Node{Type: "codeBlock", Content: []Node{textNode(s.Block)}})
		}
	}
	if len(doc.Content) == 0 { // a doc needs content; never reached with the bodies of package ticket
		doc.Content = []Node{paragraph(textNode("driftwatch"))}
	}
	return doc
}

func field(f ticket.Field) Node {
	label := Node{Type: "text", Text: f.Name + ": ", Marks: []Mark{{Type: "strong"}}}
	v := textNode(f.Value)
	if !f.Text {
		v.Marks = []Mark{{Type: "code"}}
	}
	return paragraph(label, v)
}

func heading(level int, s string) Node {
	return Node{Type: "heading", Attrs: map[string]any{"level": level}, Content: []Node{textNode(s)}}
}

func paragraph(content ...Node) Node { return Node{Type: "paragraph", Content: content} }

// textNode returns a text node; ADF rejects empty text, so an empty string
// becomes a dash.
func textNode(s string) Node {
	if strings.TrimSpace(s) == "" {
		s = "-"
	}
	return Node{Type: "text", Text: s}
}

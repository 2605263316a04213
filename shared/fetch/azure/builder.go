package azure

import "slices"

// builder fills the properties of a typed document from ARM's decoded
// properties. Each setter writes the property, taking def when ARM omitted
// it (absent or null), and remembers the omission: the finished
// properties carry "defaulted", the sorted paths of the properties whose
// value is the service default rather than a value ARM returned.
type builder struct {
	raw       map[string]any
	out       map[string]any
	prefix    string
	defaulted *[]string
}

func newBuilder(raw map[string]any) *builder {
	return &builder{raw: raw, out: map[string]any{}, defaulted: new([]string)}
}

// sub returns the builder of the nested object key (written as an object
// even when ARM omitted it).
func (b *builder) sub(key string) *builder {
	nb := &builder{raw: obj(b.raw, key), out: map[string]any{}, prefix: b.prefix + key + ".", defaulted: b.defaulted}
	b.out[key] = nb.out
	return nb
}

func (b *builder) note(key string) {
	if !has(b.raw, key) {
		*b.defaulted = append(*b.defaulted, b.prefix+key)
	}
}

func (b *builder) bool(key string, def bool) {
	b.note(key)
	b.out[key] = boolean(b.raw, key, def)
}

func (b *builder) str(key, def string) {
	b.note(key)
	b.out[key] = str(b.raw, key, def)
}

func (b *builder) enum(key, def string, allowed ...string) {
	b.note(key)
	b.out[key] = enum(b.raw, key, def, allowed...)
}

func (b *builder) int(key string, def int64) {
	b.note(key)
	b.out[key] = integer(b.raw, key, def)
}

// set writes a value computed by the caller (no default tracking).
func (b *builder) set(key string, v any) { b.out[key] = v }

// done returns the properties with their "defaulted" list.
func (b *builder) done() map[string]any {
	d := slices.Clone(*b.defaulted)
	slices.Sort(d)
	l := make([]any, len(d))
	for i, s := range d {
		l[i] = s
	}
	b.out["defaulted"] = l
	return b.out
}

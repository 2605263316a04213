package azure

import (
	"context"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
)

// networkSecurityGroupProps maps a network security group
// (Microsoft.Network/networkSecurityGroups): its custom and default
// security rules, flattened (see securityRule), and what it is attached to.
func networkSecurityGroupProps(_ context.Context, _ getFunc, _ *armresources.GenericResource, p map[string]any) (map[string]any, error) {
	b := newBuilder(p)
	b.set("securityRules", mapList(p, "securityRules", func(o map[string]any) map[string]any {
		return securityRule(str(o, "name", ""), str(o, "id", ""), obj(o, "properties"), false)
	}))
	b.set("defaultSecurityRules", mapList(p, "defaultSecurityRules", func(o map[string]any) map[string]any {
		return securityRule(str(o, "name", ""), str(o, "id", ""), obj(o, "properties"), true)
	}))
	b.set("subnets", idList(p, "subnets"))
	b.set("networkInterfaces", idList(p, "networkInterfaces"))
	b.bool("flushConnection", false)
	b.str("provisioningState", "")
	return b.done(), nil
}

// securityRuleProps maps one security rule read on its own
// (Microsoft.Network/networkSecurityGroups/securityRules).
func securityRuleProps(_ context.Context, _ getFunc, res *armresources.GenericResource, p map[string]any) (map[string]any, error) {
	r := securityRule(deref(res.Name), deref(res.ID), p, false)
	id := deref(res.ID)
	nsg := ""
	if i := strings.LastIndex(strings.ToLower(id), "/securityrules/"); i >= 0 {
		nsg = id[:i]
	}
	r["networkSecurityGroupId"] = nsg
	r["defaulted"] = []any{}
	return r, nil
}

// securityRule flattens one security rule: the single and plural forms of
// each address and port field are merged into one list, destination ports
// are also parsed into {from, to} ranges ("*" is 0-65535), and
// fromInternet says whether a source prefix is the whole internet ("*",
// "Internet", "Any", or a /0 CIDR such as 0.0.0.0/0 or ::/0).
func securityRule(name, id string, p map[string]any, isDefault bool) map[string]any {
	src := mergePrefixes(p, "sourceAddressPrefix", "sourceAddressPrefixes")
	dstPorts := mergePrefixes(p, "destinationPortRange", "destinationPortRanges")
	ports := make([]any, 0, len(dstPorts))
	for _, s := range dstPorts {
		if from, to, ok := parsePortRange(s.(string)); ok {
			ports = append(ports, map[string]any{"from": from, "to": to})
		}
	}
	fromInternet := false
	for _, s := range src {
		if isInternetPrefix(s.(string)) {
			fromInternet = true
		}
	}
	return map[string]any{
		"name":                                 name,
		"id":                                   id,
		"default":                              isDefault,
		"description":                          str(p, "description", ""),
		"protocol":                             enum(p, "protocol", "*", "Tcp", "Udp", "Icmp", "Esp", "Ah", "*"),
		"access":                               enum(p, "access", "", "Allow", "Deny"),
		"direction":                            enum(p, "direction", "", "Inbound", "Outbound"),
		"priority":                             integer(p, "priority", 0),
		"sourceAddressPrefixes":                src,
		"sourceApplicationSecurityGroups":      idList(p, "sourceApplicationSecurityGroups"),
		"sourcePortRanges":                     mergePrefixes(p, "sourcePortRange", "sourcePortRanges"),
		"destinationAddressPrefixes":           mergePrefixes(p, "destinationAddressPrefix", "destinationAddressPrefixes"),
		"destinationApplicationSecurityGroups": idList(p, "destinationApplicationSecurityGroups"),
		"destinationPortRanges":                dstPorts,
		"destinationPorts":                     ports,
		"fromInternet":                         fromInternet,
	}
}

// mergePrefixes returns the single-valued field one followed by the
// entries of the list field many, without duplicates.
func mergePrefixes(p map[string]any, one, many string) []any {
	out := []any{}
	seen := map[string]bool{}
	add := func(s string) {
		s = strings.TrimSpace(s)
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	add(str(p, one, ""))
	for _, s := range stringList(p, many) {
		add(s.(string))
	}
	return out
}

// parsePortRange parses "*", "22" or "1000-2000".
func parsePortRange(s string) (from, to int64, ok bool) {
	s = strings.TrimSpace(s)
	if s == "*" {
		return 0, 65535, true
	}
	lo, hi, isRange := strings.Cut(s, "-")
	f, err := strconv.ParseInt(strings.TrimSpace(lo), 10, 64)
	if err != nil {
		return 0, 0, false
	}
	if !isRange {
		return f, f, true
	}
	t, err := strconv.ParseInt(strings.TrimSpace(hi), 10, 64)
	if err != nil || t < f {
		return 0, 0, false
	}
	return f, t, true
}

// isInternetPrefix reports whether an NSG address prefix stands for any
// internet address.
func isInternetPrefix(s string) bool {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "*", "internet", "any", "0.0.0.0":
		return true
	}
	_, bits, ok := strings.Cut(s, "/")
	return ok && bits == "0"
}

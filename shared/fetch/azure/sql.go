package azure

import (
	"context"
	"net/netip"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
)

// sqlServerProps maps a logical SQL server (Microsoft.Sql/servers).
// Defaults: publicNetworkAccess Enabled, minimalTlsVersion "None" (no
// minimum enforced), restrictOutboundNetworkAccess Disabled.
func sqlServerProps(_ context.Context, _ getFunc, _ *armresources.GenericResource, p map[string]any) (map[string]any, error) {
	b := newBuilder(p)
	b.enum("publicNetworkAccess", "Enabled", "Enabled", "Disabled", "SecuredByPerimeter")
	b.enum("minimalTlsVersion", "None", "None", "1.0", "1.1", "1.2", "1.3")
	b.enum("restrictOutboundNetworkAccess", "Disabled", "Enabled", "Disabled")
	b.str("version", "")
	b.str("state", "")
	b.str("administratorLogin", "")
	b.str("fullyQualifiedDomainName", "")
	admins := b.sub("administrators")
	admins.bool("azureADOnlyAuthentication", false)
	admins.str("administratorType", "")
	admins.str("login", "")
	admins.str("principalType", "")
	return b.done(), nil
}

// postgreSQLFlexibleServerProps maps an Azure Database for PostgreSQL
// flexible server (Microsoft.DBforPostgreSQL/flexibleServers). Defaults:
// network.publicNetworkAccess Enabled (a VNet-integrated server reports
// Disabled), authConfig.passwordAuth Enabled and activeDirectoryAuth
// Disabled, backup.geoRedundantBackup Disabled, backupRetentionDays 7.
func postgreSQLFlexibleServerProps(_ context.Context, _ getFunc, _ *armresources.GenericResource, p map[string]any) (map[string]any, error) {
	b := newBuilder(p)
	b.str("version", "")
	b.str("state", "")
	b.str("administratorLogin", "")
	b.str("fullyQualifiedDomainName", "")
	net := b.sub("network")
	net.enum("publicNetworkAccess", "Enabled", "Enabled", "Disabled")
	net.str("delegatedSubnetResourceId", "")
	net.str("privateDnsZoneArmResourceId", "")
	auth := b.sub("authConfig")
	auth.enum("activeDirectoryAuth", "Disabled", "Enabled", "Disabled")
	auth.enum("passwordAuth", "Enabled", "Enabled", "Disabled")
	backup := b.sub("backup")
	backup.int("backupRetentionDays", 7)
	backup.enum("geoRedundantBackup", "Disabled", "Enabled", "Disabled")
	ha := b.sub("highAvailability")
	ha.enum("mode", "Disabled", "Disabled", "SameZone", "ZoneRedundant")
	return b.done(), nil
}

// firewallRuleProps maps a server firewall rule (Microsoft.Sql/servers/
// firewallRules, Microsoft.DBforPostgreSQL/flexibleServers/firewallRules):
// the IPv4 range, the number of addresses it admits (0 when a bound does
// not parse), and the two conventional ranges: 0.0.0.0-0.0.0.0 ("allow
// Azure services", any Azure tenant's resources) and
// 0.0.0.0-255.255.255.255 (the whole internet).
func firewallRuleProps(_ context.Context, _ getFunc, _ *armresources.GenericResource, p map[string]any) (map[string]any, error) {
	b := newBuilder(p)
	b.str("startIpAddress", "")
	b.str("endIpAddress", "")
	start, end := str(p, "startIpAddress", ""), str(p, "endIpAddress", "")
	b.set("addressCount", ipv4Count(start, end))
	b.set("allowsAllAzureServices", start == "0.0.0.0" && end == "0.0.0.0")
	b.set("allowsAllInternet", start == "0.0.0.0" && end == "255.255.255.255")
	return b.done(), nil
}

// ipv4Count is the number of addresses from start to end inclusive, 0 when
// either is not an IPv4 address or end < start.
func ipv4Count(start, end string) int64 {
	s, err1 := netip.ParseAddr(start)
	e, err2 := netip.ParseAddr(end)
	if err1 != nil || err2 != nil || !s.Is4() || !e.Is4() {
		return 0
	}
	sv, ev := v4(s), v4(e)
	if ev < sv {
		return 0
	}
	return ev - sv + 1
}

func v4(a netip.Addr) int64 {
	b := a.As4()
	return int64(b[0])<<24 | int64(b[1])<<16 | int64(b[2])<<8 | int64(b[3])
}

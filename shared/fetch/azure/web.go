package azure

import (
	"context"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
)

// webSiteProps maps an App Service or Function App (Microsoft.Web/sites).
// The site's own GET leaves most of siteConfig null, so siteConfig is read
// from the site's /config/web child (a second GET). Defaults: httpsOnly
// false, publicNetworkAccess Enabled, siteConfig.minTlsVersion 1.2 (the
// platform default), siteConfig.ftpsState AllAllowed (plain FTP allowed),
// clientCertEnabled false.
func webSiteProps(ctx context.Context, get getFunc, res *armresources.GenericResource, p map[string]any) (map[string]any, error) {
	b := newBuilder(p)
	b.bool("httpsOnly", false)
	b.enum("publicNetworkAccess", "Enabled", "Enabled", "Disabled")
	b.bool("clientCertEnabled", false)
	b.enum("clientCertMode", "Required", "Required", "Optional", "OptionalInteractiveUser")
	b.bool("enabled", true)
	b.str("state", "")
	b.str("defaultHostName", "")
	b.str("serverFarmId", "")
	b.str("keyVaultReferenceIdentity", "")
	b.bool("vnetRouteAllEnabled", false)

	id := strings.TrimRight(deref(res.ID), "/")
	cfg, exists, err := get(ctx, id+"/config/web")
	if err != nil {
		return nil, fmt.Errorf("get web config of site: %w", err)
	}
	if !exists {
		return nil, errGone
	}
	raw, err := rawProperties(cfg)
	if err != nil {
		return nil, err
	}
	sc := &builder{raw: raw, out: map[string]any{}, prefix: "siteConfig.", defaulted: b.defaulted}
	b.set("siteConfig", sc.out)
	sc.enum("minTlsVersion", "1.2", "1.0", "1.1", "1.2", "1.3")
	sc.enum("scmMinTlsVersion", "1.2", "1.0", "1.1", "1.2", "1.3")
	sc.enum("ftpsState", "AllAllowed", "AllAllowed", "FtpsOnly", "Disabled")
	sc.bool("http20Enabled", false)
	sc.bool("remoteDebuggingEnabled", false)
	sc.bool("alwaysOn", false)
	sc.str("minTlsCipherSuite", "")
	sc.enum("ipSecurityRestrictionsDefaultAction", "Allow", "Allow", "Deny")
	sc.enum("scmIpSecurityRestrictionsDefaultAction", "Allow", "Allow", "Deny")
	sc.bool("scmIpSecurityRestrictionsUseMain", false)
	sc.str("linuxFxVersion", "")
	sc.set("ipSecurityRestrictionCount", int64(len(objects(raw, "ipSecurityRestrictions"))))
	return b.done(), nil
}

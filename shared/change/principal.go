package change

import "strings"

// identity is CloudTrail's userIdentity as read from a record, before it is
// normalised into a Principal.
type identity struct {
	typ, principalID, arn, accountID, accessKeyID, userName, invokedBy string
	// sessionContext.sessionIssuer
	issuerType, issuerARN, issuerName string
}

// principal normalises the identity. account and region are the record's
// (recipientAccountId, awsRegion), used to build a missing root ARN.
func (id *identity) principal(account, region string) Principal {
	p := Principal{
		ARN:         id.arn,
		Type:        id.typ,
		ID:          id.principalID,
		Account:     id.accountID,
		IssuerARN:   id.issuerARN,
		IssuerType:  id.issuerType,
		InvokedBy:   id.invokedBy,
		AccessKeyID: id.accessKeyID,
	}
	switch id.typ {
	case "Root":
		// userName, when present, is the account alias, not a user.
		p.Name = "root"
		if p.ARN == "" {
			acct := p.Account
			if acct == "" {
				acct = account
			}
			if acct != "" {
				p.ARN = "arn:" + partition(region) + ":iam::" + acct + ":root"
			}
		}
	case "AssumedRole":
		// sessionIssuer.userName is the role name; the session ARN
		// (arn:aws:sts::1:assumed-role/Role/session) carries it too.
		p.Name = id.issuerName
		if p.Name == "" {
			p.Name, _, _ = strings.Cut(arnResource(p.ARN, "assumed-role/"), "/")
		}
	case "FederatedUser":
		// arn:aws:sts::1:federated-user/name; the issuer is the IAM user
		// that called GetFederationToken.
		p.Name = arnResource(p.ARN, "federated-user/")
		if p.Name == "" {
			p.Name = id.userName
		}
	case "AWSService":
		// No ARN and no name: the calling service is in InvokedBy.
	default:
		p.Name = id.userName
		if p.Name == "" {
			if user := arnResource(p.ARN, "user/"); user != "" {
				p.Name = user[strings.LastIndexByte(user, '/')+1:]
			}
		}
	}
	return p
}

// arnResource returns the resource part of arn after prefix
// (arn:p:s:r:a:<prefix><rest> → rest), or "" when it does not have it.
func arnResource(arn, prefix string) string {
	rest := arn
	for range 5 {
		_, after, ok := strings.Cut(rest, ":")
		if !ok {
			return ""
		}
		rest = after
	}
	rest, ok := strings.CutPrefix(rest, prefix)
	if !ok {
		return ""
	}
	return rest
}

// partition returns the AWS partition a region belongs to.
func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	case strings.HasPrefix(region, "eu-isoe-"):
		return "aws-iso-e"
	case strings.HasPrefix(region, "us-isof-"):
		return "aws-iso-f"
	}
	return "aws"
}

// readPrefixes are the operation-name prefixes of AWS read-only APIs (the
// verbs of IAM's Read and List access levels). A name counts only when the
// prefix is followed by an upper-case letter (GetBucketAcl, not Getaway).
var readPrefixes = []string{"Get", "Describe", "List", "Head", "Lookup", "BatchGet"}

// inferReadOnly guesses readOnly for records that lack the flag.
func inferReadOnly(op string) bool {
	for _, p := range readPrefixes {
		if len(op) > len(p) && strings.HasPrefix(op, p) && op[len(p)] >= 'A' && op[len(p)] <= 'Z' {
			return true
		}
	}
	return false
}

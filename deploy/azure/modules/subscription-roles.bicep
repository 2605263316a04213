// What the detector's managed identity may do across the subscription.
//
// Always: Reader, to re-read any changed resource by ID through ARM (role
// assignments and SQL firewall rules included; no data-plane access, no
// keys).
//
// Only with autoRevert 'on': the narrow write roles the remediations need
// (storage account properties, NSG rules, SQL server firewall rules, App
// Service site settings). With revertRoleAssignments 'on' as well: Role
// Based Access Control Administrator under a condition that lets it delete
// role assignments but never create one, for rules that opt in to deleting
// a privileged assignment.

targetScope = 'subscription'

@description('Principal ID of the function\'s managed identity.')
param principalId string

@allowed([
  'on'
  'off'
])
param autoRevert string = 'off'

@allowed([
  'on'
  'off'
])
param revertRoleAssignments string = 'off'

// Built-in role definitions (the same ID in every tenant).
var reader = 'acdd72a7-3385-48ef-bd42-f606fba81ae7'
var writeRoles = {
  'Storage Account Contributor': '17d1049b-9a84-46fb-8f53-869881c3d3ab' // allowBlobPublicAccess, minimumTlsVersion, supportsHttpsTrafficOnly
  'Network Contributor': '4d97b98b-1d4f-4787-a291-c67834d212e7' // NSG security rules
  'SQL Server Contributor': '6d8ee4ec-f05a-4a1d-8b00-a9b17e38b437' // server firewall rules
  'Website Contributor': 'de139f84-1756-47ae-9be6-808fbbe84772' // httpsOnly, minTlsVersion, ftpsState
}
var rbacAdministrator = 'f58310d9-a9f6-439a-9e8d-f62e7b41a168'

resource readerRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, reader)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', reader)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'driftwatch: re-read changed resources'
  }
}

resource revertRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in items(writeRoles): if (autoRevert == 'on') {
    name: guid(subscription().id, principalId, role.value)
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role.value)
      principalId: principalId
      principalType: 'ServicePrincipal'
      description: 'driftwatch auto-revert: ${role.key}'
    }
  }
]

resource roleAssignmentRevert 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (autoRevert == 'on' && revertRoleAssignments == 'on') {
  name: guid(subscription().id, principalId, rbacAdministrator)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', rbacAdministrator)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'driftwatch auto-revert: delete privileged role assignments (never create)'
    conditionVersion: '2.0'
    condition: '((!(ActionMatches{\'Microsoft.Authorization/roleAssignments/write\'})))'
  }
}

var allWriteRoleNames = [for r in items(writeRoles): r.key]
var writeRoleNames = autoRevert == 'on' ? allWriteRoleNames : []
var rbacRoleNames = autoRevert == 'on' && revertRoleAssignments == 'on' ? ['Role Based Access Control Administrator (delete only)'] : []

output roles array = concat(['Reader'], writeRoleNames, rbacRoleNames)

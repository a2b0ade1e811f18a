/**
 * The predefined roles the platform grants on data-plane resources (BigQuery, Cloud Storage,
 * service accounts, Cloud Run, billing), with their permissions, so that a test can prove what a
 * principal holds and the REST double can enforce it. `rolePermissions` maps any role a
 * synthesized stack grants, predefined (from this table) or custom (from the synthesized
 * `google_project_iam_custom_role` resources), to its permissions.
 *
 * Source of the permission lists: Google's role reference pages (`doc` of each role), as published
 * by the IAM roles API (`gcloud iam roles describe roles/<id>`). Copied 2026-12-01 from the
 * dump of that API in github.com/iann0036/iam-dataset (gcp/roles/<id>.json at commit 2073fa5).
 * Predefined roles change over time: a role's list here is a snapshot, used to reason about what a
 * grant gives, not a promise that Google will not add permissions to it. Roles the platform grants
 * for deploying (the CI identities' project roles) are not listed: `rolePermissions` answers null
 * for them.
 */

const DOC = {
  bigquery: 'https://cloud.google.com/iam/docs/roles-permissions/bigquery',
  storage: 'https://cloud.google.com/iam/docs/roles-permissions/storage',
  iam: 'https://cloud.google.com/iam/docs/roles-permissions/iam',
  run: 'https://cloud.google.com/iam/docs/roles-permissions/run',
  billing: 'https://cloud.google.com/iam/docs/roles-permissions/billing',
} as const;

export interface PredefinedRole {
  readonly title: string;
  /** Google's reference page for the role. */
  readonly doc: string;
  readonly permissions: readonly string[];
}

export const PREDEFINED_ROLES: Readonly<Record<string, PredefinedRole>> = {
  'roles/bigquery.dataViewer': {
    title: "BigQuery Data Viewer",
    doc: DOC.bigquery,
    permissions: [
      'bigquery.datasets.get', 'bigquery.datasets.getIamPolicy', 'bigquery.models.export', 'bigquery.models.getData',
      'bigquery.models.getMetadata', 'bigquery.models.list', 'bigquery.propertyGraphs.get', 'bigquery.propertyGraphs.list',
      'bigquery.routines.get', 'bigquery.routines.list', 'bigquery.tables.createSnapshot', 'bigquery.tables.export',
      'bigquery.tables.get', 'bigquery.tables.getData', 'bigquery.tables.getIamPolicy', 'bigquery.tables.list',
      'bigquery.tables.replicateData', 'dataplex.datascans.get', 'dataplex.datascans.getData', 'dataplex.datascans.getIamPolicy',
      'dataplex.datascans.list', 'resourcemanager.projects.get', 'resourcemanager.projects.list',
    ],
  },
  'roles/bigquery.metadataViewer': {
    title: "BigQuery Metadata Viewer",
    doc: DOC.bigquery,
    permissions: [
      'bigquery.datasets.get', 'bigquery.datasets.getIamPolicy', 'bigquery.models.getMetadata', 'bigquery.models.list',
      'bigquery.propertyGraphs.get', 'bigquery.propertyGraphs.list', 'bigquery.routines.get', 'bigquery.routines.list',
      'bigquery.tables.get', 'bigquery.tables.getIamPolicy', 'bigquery.tables.list', 'dataplex.projects.search',
      'resourcemanager.projects.get', 'resourcemanager.projects.list',
    ],
  },
  'roles/bigquery.dataEditor': {
    title: "BigQuery Data Editor",
    doc: DOC.bigquery,
    permissions: [
      'bigquery.config.get', 'bigquery.datasets.create', 'bigquery.datasets.get', 'bigquery.datasets.getIamPolicy',
      'bigquery.datasets.updateTag', 'bigquery.models.create', 'bigquery.models.delete', 'bigquery.models.export',
      'bigquery.models.getData', 'bigquery.models.getMetadata', 'bigquery.models.list', 'bigquery.models.updateData',
      'bigquery.models.updateMetadata', 'bigquery.models.updateTag', 'bigquery.propertyGraphs.create',
      'bigquery.propertyGraphs.delete', 'bigquery.propertyGraphs.get', 'bigquery.propertyGraphs.list',
      'bigquery.propertyGraphs.update', 'bigquery.routines.create', 'bigquery.routines.delete', 'bigquery.routines.get',
      'bigquery.routines.list', 'bigquery.routines.update', 'bigquery.routines.updateTag', 'bigquery.tables.create',
      'bigquery.tables.createIndex', 'bigquery.tables.createSnapshot', 'bigquery.tables.delete', 'bigquery.tables.deleteIndex',
      'bigquery.tables.export', 'bigquery.tables.get', 'bigquery.tables.getData', 'bigquery.tables.getIamPolicy',
      'bigquery.tables.list', 'bigquery.tables.replicateData', 'bigquery.tables.restoreSnapshot', 'bigquery.tables.update',
      'bigquery.tables.updateData', 'bigquery.tables.updateIndex', 'bigquery.tables.updateTag', 'cloudkms.keyHandles.create',
      'cloudkms.keyHandles.get', 'cloudkms.keyHandles.list', 'cloudkms.operations.get',
      'cloudkms.projects.showEffectiveAutokeyConfig', 'dataplex.datascans.cancel', 'dataplex.datascans.create',
      'dataplex.datascans.delete', 'dataplex.datascans.get', 'dataplex.datascans.getData', 'dataplex.datascans.getIamPolicy',
      'dataplex.datascans.list', 'dataplex.datascans.run', 'dataplex.datascans.update', 'dataplex.operations.get',
      'dataplex.operations.list', 'resourcemanager.projects.get', 'resourcemanager.projects.list',
    ],
  },
  'roles/bigquery.dataOwner': {
    title: "BigQuery Data Owner",
    doc: DOC.bigquery,
    permissions: [
      'bigquery.config.get', 'bigquery.dataPolicies.attach', 'bigquery.dataPolicies.create', 'bigquery.dataPolicies.delete',
      'bigquery.dataPolicies.get', 'bigquery.dataPolicies.getIamPolicy', 'bigquery.dataPolicies.list',
      'bigquery.dataPolicies.setIamPolicy', 'bigquery.dataPolicies.update', 'bigquery.datasets.create',
      'bigquery.datasets.createTagBinding', 'bigquery.datasets.delete', 'bigquery.datasets.deleteTagBinding',
      'bigquery.datasets.get', 'bigquery.datasets.getIamPolicy', 'bigquery.datasets.link', 'bigquery.datasets.listEffectiveTags',
      'bigquery.datasets.listSharedDatasetUsage', 'bigquery.datasets.listTagBindings', 'bigquery.datasets.setIamPolicy',
      'bigquery.datasets.update', 'bigquery.datasets.updateTag', 'bigquery.models.create', 'bigquery.models.delete',
      'bigquery.models.export', 'bigquery.models.getData', 'bigquery.models.getMetadata', 'bigquery.models.list',
      'bigquery.models.updateData', 'bigquery.models.updateMetadata', 'bigquery.models.updateTag',
      'bigquery.propertyGraphs.create', 'bigquery.propertyGraphs.delete', 'bigquery.propertyGraphs.get',
      'bigquery.propertyGraphs.list', 'bigquery.propertyGraphs.update', 'bigquery.routines.create', 'bigquery.routines.delete',
      'bigquery.routines.get', 'bigquery.routines.list', 'bigquery.routines.update', 'bigquery.routines.updateTag',
      'bigquery.rowAccessPolicies.create', 'bigquery.rowAccessPolicies.delete', 'bigquery.rowAccessPolicies.get',
      'bigquery.rowAccessPolicies.getIamPolicy', 'bigquery.rowAccessPolicies.list', 'bigquery.rowAccessPolicies.setIamPolicy',
      'bigquery.rowAccessPolicies.update', 'bigquery.tables.create', 'bigquery.tables.createIndex',
      'bigquery.tables.createSnapshot', 'bigquery.tables.createTagBinding', 'bigquery.tables.delete',
      'bigquery.tables.deleteIndex', 'bigquery.tables.deleteSnapshot', 'bigquery.tables.deleteTagBinding',
      'bigquery.tables.export', 'bigquery.tables.get', 'bigquery.tables.getData', 'bigquery.tables.getIamPolicy',
      'bigquery.tables.list', 'bigquery.tables.listEffectiveTags', 'bigquery.tables.listTagBindings',
      'bigquery.tables.replicateData', 'bigquery.tables.restoreSnapshot', 'bigquery.tables.setCategory',
      'bigquery.tables.setColumnDataPolicy', 'bigquery.tables.setIamPolicy', 'bigquery.tables.update',
      'bigquery.tables.updateData', 'bigquery.tables.updateIndex', 'bigquery.tables.updateTag', 'cloudkms.keyHandles.create',
      'cloudkms.keyHandles.get', 'cloudkms.keyHandles.list', 'cloudkms.operations.get',
      'cloudkms.projects.showEffectiveAutokeyConfig', 'dataplex.datascans.cancel', 'dataplex.datascans.create',
      'dataplex.datascans.delete', 'dataplex.datascans.get', 'dataplex.datascans.getData', 'dataplex.datascans.getIamPolicy',
      'dataplex.datascans.list', 'dataplex.datascans.run', 'dataplex.datascans.setIamPolicy', 'dataplex.datascans.update',
      'dataplex.operations.get', 'dataplex.operations.list', 'resourcemanager.projects.get', 'resourcemanager.projects.list',
    ],
  },
  'roles/bigquery.jobUser': {
    title: "BigQuery Job User",
    doc: DOC.bigquery,
    permissions: [
      'bigquery.config.get', 'bigquery.jobs.create', 'dataform.folders.create', 'dataform.locations.get',
      'dataform.locations.list', 'dataform.repositories.create', 'dataform.repositories.list', 'resourcemanager.projects.get',
      'resourcemanager.projects.list',
    ],
  },
  'roles/bigquery.user': {
    title: "BigQuery User",
    doc: DOC.bigquery,
    permissions: [
      'bigquery.bireservations.get', 'bigquery.capacityCommitments.get', 'bigquery.capacityCommitments.list',
      'bigquery.config.get', 'bigquery.datasets.create', 'bigquery.datasets.get', 'bigquery.datasets.getIamPolicy',
      'bigquery.jobs.create', 'bigquery.jobs.list', 'bigquery.models.list', 'bigquery.propertyGraphs.list',
      'bigquery.readsessions.create', 'bigquery.readsessions.getData', 'bigquery.readsessions.update',
      'bigquery.reservationAssignments.list', 'bigquery.reservationAssignments.search', 'bigquery.reservationGroups.get',
      'bigquery.reservationGroups.list', 'bigquery.reservations.get', 'bigquery.reservations.list',
      'bigquery.reservations.listFailoverDatasets', 'bigquery.reservations.use', 'bigquery.routines.list',
      'bigquery.savedqueries.get', 'bigquery.savedqueries.list', 'bigquery.tables.list', 'bigquery.transfers.get',
      'bigquerymigration.translation.translate', 'cloudkms.keyHandles.create', 'cloudkms.keyHandles.get',
      'cloudkms.keyHandles.list', 'cloudkms.operations.get', 'cloudkms.projects.showEffectiveAutokeyConfig',
      'dataform.folders.create', 'dataform.locations.get', 'dataform.locations.list', 'dataform.repositories.create',
      'dataform.repositories.list', 'dataplex.projects.search', 'resourcemanager.projects.get', 'resourcemanager.projects.list',
    ],
  },
  'roles/storage.objectViewer': {
    title: "Storage Object Viewer",
    doc: DOC.storage,
    permissions: [
      'resourcemanager.projects.get', 'resourcemanager.projects.list', 'storage.folders.get', 'storage.folders.list',
      'storage.managedFolders.get', 'storage.managedFolders.list', 'storage.objects.get', 'storage.objects.list',
    ],
  },
  'roles/storage.objectCreator': {
    title: "Storage Object Creator",
    doc: DOC.storage,
    permissions: [
      'orgpolicy.policy.get', 'resourcemanager.projects.get', 'resourcemanager.projects.list', 'storage.folders.create',
      'storage.managedFolders.create', 'storage.multipartUploads.abort', 'storage.multipartUploads.create',
      'storage.multipartUploads.listParts', 'storage.objects.create', 'storage.objects.createContext',
    ],
  },
  'roles/storage.objectUser': {
    title: "Storage Object User",
    doc: DOC.storage,
    permissions: [
      'monitoring.timeSeries.create', 'orgpolicy.policy.get', 'resourcemanager.projects.get', 'resourcemanager.projects.list',
      'storage.folders.create', 'storage.folders.delete', 'storage.folders.get', 'storage.folders.list',
      'storage.folders.rename', 'storage.managedFolders.create', 'storage.managedFolders.delete', 'storage.managedFolders.get',
      'storage.managedFolders.list', 'storage.multipartUploads.abort', 'storage.multipartUploads.create',
      'storage.multipartUploads.list', 'storage.multipartUploads.listParts', 'storage.objects.create',
      'storage.objects.createContext', 'storage.objects.delete', 'storage.objects.deleteContext', 'storage.objects.get',
      'storage.objects.list', 'storage.objects.move', 'storage.objects.restore', 'storage.objects.update',
      'storage.objects.updateContext',
    ],
  },
  'roles/iam.serviceAccountUser': {
    title: "Service Account User",
    doc: DOC.iam,
    permissions: [
      'iam.serviceAccounts.actAs', 'iam.serviceAccounts.get', 'iam.serviceAccounts.list', 'resourcemanager.projects.get',
      'resourcemanager.projects.list',
    ],
  },
  'roles/iam.workloadIdentityUser': {
    title: "Workload Identity User",
    doc: DOC.iam,
    permissions: [
      'iam.serviceAccounts.get', 'iam.serviceAccounts.getAccessToken', 'iam.serviceAccounts.getOpenIdToken',
      'iam.serviceAccounts.list',
    ],
  },
  'roles/iam.serviceAccountTokenCreator': {
    title: "Service Account Token Creator",
    doc: DOC.iam,
    permissions: [
      'iam.serviceAccounts.get', 'iam.serviceAccounts.getAccessToken', 'iam.serviceAccounts.getOpenIdToken',
      'iam.serviceAccounts.implicitDelegation', 'iam.serviceAccounts.list', 'iam.serviceAccounts.signBlob',
      'iam.serviceAccounts.signJwt', 'resourcemanager.projects.get', 'resourcemanager.projects.list',
    ],
  },
  'roles/run.invoker': {
    title: "Cloud Run Invoker",
    doc: DOC.run,
    permissions: [
      'run.instances.invoke', 'run.jobs.run', 'run.routes.invoke',
    ],
  },
  // From iann0036/iam-dataset gcp/roles/run.viewer.json at commit 0f12962 (granted on one job only).
  'roles/run.viewer': {
    title: "Cloud Run Viewer",
    doc: DOC.run,
    permissions: [
      'recommender.locations.get', 'recommender.locations.list', 'recommender.runServiceCostInsights.get',
      'recommender.runServiceCostInsights.list', 'recommender.runServiceCostRecommendations.get',
      'recommender.runServiceCostRecommendations.list', 'recommender.runServiceIdentityInsights.get',
      'recommender.runServiceIdentityInsights.list', 'recommender.runServiceIdentityRecommendations.get',
      'recommender.runServiceIdentityRecommendations.list', 'recommender.runServicePerformanceInsights.get',
      'recommender.runServicePerformanceInsights.list', 'recommender.runServicePerformanceRecommendations.get',
      'recommender.runServicePerformanceRecommendations.list', 'recommender.runServiceSecurityInsights.get',
      'recommender.runServiceSecurityInsights.list', 'recommender.runServiceSecurityRecommendations.get',
      'recommender.runServiceSecurityRecommendations.list', 'resourcemanager.projects.get', 'resourcemanager.projects.list',
      'run.configurations.get', 'run.configurations.list', 'run.executions.get', 'run.executions.list', 'run.jobs.get',
      'run.jobs.getIamPolicy', 'run.jobs.list', 'run.jobs.listEffectiveTags', 'run.jobs.listTagBindings', 'run.locations.list',
      'run.operations.get', 'run.operations.list', 'run.prompts.get', 'run.revisions.get', 'run.revisions.list',
      'run.routes.get', 'run.routes.list', 'run.services.get', 'run.services.getIamPolicy', 'run.services.list',
      'run.services.listEffectiveTags', 'run.services.listTagBindings', 'run.tasks.get', 'run.tasks.list',
      'run.workerpools.get', 'run.workerpools.getIamPolicy', 'run.workerpools.list',
    ],
  },
  'roles/billing.costsManager': {
    title: "Billing Account Costs Manager",
    doc: DOC.billing,
    permissions: [
      'billing.accounts.get', 'billing.accounts.getIamPolicy', 'billing.accounts.getSpendingInformation',
      'billing.accounts.getUsageExportSpec', 'billing.accounts.list', 'billing.accounts.updateUsageExportSpec',
      'billing.anomalies.get', 'billing.anomalies.list', 'billing.anomaliesConfigs.get', 'billing.anomaliesConfigs.update',
      'billing.budgets.create', 'billing.budgets.delete', 'billing.budgets.get', 'billing.budgets.list',
      'billing.budgets.update', 'billing.resourceAssociations.list', 'recommender.costInsights.get',
      'recommender.costInsights.list', 'recommender.costInsights.update',
    ],
  },
  'roles/billing.viewer': {
    title: "Billing Account Viewer",
    doc: DOC.billing,
    permissions: [
      'billing.accounts.get', 'billing.accounts.getCarbonInformation', 'billing.accounts.getIamPolicy',
      'billing.accounts.getPaymentInfo', 'billing.accounts.getPricing', 'billing.accounts.getSpendingInformation',
      'billing.accounts.getUsageExportSpec', 'billing.accounts.list', 'billing.anomalies.get', 'billing.anomalies.list',
      'billing.anomaliesConfigs.get', 'billing.billingAccountPrice.get', 'billing.billingAccountPrices.list',
      'billing.billingAccountServices.get', 'billing.billingAccountServices.list', 'billing.billingAccountSkuGroupSkus.get',
      'billing.billingAccountSkuGroupSkus.list', 'billing.billingAccountSkuGroups.get', 'billing.billingAccountSkuGroups.list',
      'billing.billingAccountSkus.get', 'billing.billingAccountSkus.list', 'billing.budgets.get', 'billing.budgets.list',
      'billing.credits.list', 'billing.finOpsBenchmarkInformation.get', 'billing.finOpsHealthInformation.get',
      'billing.resourceAssociations.list', 'billing.subscriptions.get', 'billing.subscriptions.list',
      'chroniclesm.contracts.get', 'commerceoffercatalog.agreements.get', 'commerceoffercatalog.agreements.list',
      'commerceoffercatalog.documents.get', 'commerceoffercatalog.documents.list', 'commerceoffercatalog.offers.get',
      'consumerprocurement.accounts.get', 'consumerprocurement.accounts.list', 'consumerprocurement.consents.check',
      'consumerprocurement.consents.list', 'consumerprocurement.orderAttributions.get',
      'consumerprocurement.orderAttributions.list', 'consumerprocurement.orders.get', 'consumerprocurement.orders.list',
      'dataprocessing.datasources.get', 'dataprocessing.datasources.list', 'dataprocessing.groupcontrols.get',
      'dataprocessing.groupcontrols.list', 'discoveryengine.billingAccountLicenseConfigs.get',
      'discoveryengine.billingAccountLicenseConfigs.list', 'recommender.commitmentUtilizationInsights.get',
      'recommender.commitmentUtilizationInsights.list', 'recommender.costInsights.get', 'recommender.costInsights.list',
      'recommender.costRecommendations.listAll', 'recommender.costRecommendations.summarizeAll',
      'recommender.spendBasedCommitmentInsights.get', 'recommender.spendBasedCommitmentInsights.list',
      'recommender.spendBasedCommitmentRecommendations.get', 'recommender.spendBasedCommitmentRecommendations.list',
      'recommender.spendBasedCommitmentRecommenderConfig.get', 'recommender.usageCommitmentRecommendations.get',
      'recommender.usageCommitmentRecommendations.list',
    ],
  },
};

/** `projects/<project>/roles/<roleId>`: the name IAM gives a project-level custom role. */
export const customRoleName = (project: string, roleId: string): string => `projects/${project}/roles/${roleId}`;

/** The custom roles a synthesized stack declares (`google_project_iam_custom_role`), by role name. */
export function customRolesFromTerraform(
  tf: { readonly resource?: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, unknown>>>>>> },
  defaultProject: string,
): Map<string, readonly string[]> {
  const out = new Map<string, readonly string[]>();
  for (const r of Object.values(tf.resource?.google_project_iam_custom_role ?? {})) {
    const project = typeof r.project === 'string' ? r.project : defaultProject;
    out.set(customRoleName(project, String(r.role_id)), [...((r.permissions as string[] | undefined) ?? [])].sort());
  }
  return out;
}

/**
 * The permissions a role gives: a predefined role from PREDEFINED_ROLES, a custom role from
 * `custom` (role name → permissions, e.g. from customRolesFromTerraform); null for a role neither
 * knows (callers decide: the runner's test fails on it, a double refuses everything).
 */
export function rolePermissions(role: string, custom: ReadonlyMap<string, readonly string[]> = new Map()): readonly string[] | null {
  return PREDEFINED_ROLES[role]?.permissions ?? custom.get(role) ?? null;
}

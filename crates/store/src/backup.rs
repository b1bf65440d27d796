/// What a backup holds, or what a restore put back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupSummary {
    /// Logical resources, deleted ones included.
    pub resources: u64,
    /// Versions of all resources.
    pub versions: u64,
    /// Size of the backup file.
    pub bytes: u64,
}

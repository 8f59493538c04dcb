"""Student records (学籍), family members (家庭成员) and status changes (学籍异动)."""

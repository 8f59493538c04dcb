"""Schools (学校), their classes (班级) and grades (年级)."""

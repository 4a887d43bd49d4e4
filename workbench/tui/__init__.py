"""The annotate TUI (Textual). Renders an AnnotationSession; never imports jieba."""

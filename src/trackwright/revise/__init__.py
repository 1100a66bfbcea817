"""Creative notes → musical changes: reading notes into directives (interpret, llm), and (to come)
the techniques that turn directives into recipe changes with measured explanations."""

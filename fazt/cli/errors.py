"""
Errors the CLI reports to the user as one line on stderr.

Every failure a user can cause or meet (a bad flag value, an unreachable
server, an error envelope from the API, an empty directory) is raised as a
L{CliError}; the dispatcher in L{fazt.cli.main} prints C{error: <text>} and
exits with status 1.
"""


class CliError(Exception):
    """
    A failure to report to the user as a single line.

    The message is the whole text shown after C{error: }.
    """

    @property
    def message(self) -> str:
        """The human-readable text of this error."""
        return str(self.args[0]) if self.args else self.__class__.__name__

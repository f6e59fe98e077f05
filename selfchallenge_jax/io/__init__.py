"""Storage plumbing for workdirs that may be local or gs://: client setup and local copies."""

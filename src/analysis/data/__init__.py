"""Reading a firm's files: the data contract, io, validation, periods, the sample company, masking."""

"""Map the FHIR R4 resources of one patient (validated ``fhir.resources.R4B`` models) to a
:class:`~icaht.core.record.PatientRecord`: one mapper module per resource type
(:mod:`.observation`, :mod:`.condition`, :mod:`.procedure`, :mod:`.diagnostic_report`,
:mod:`.medication`), the memo of resources mapped on their own (:mod:`.memo`) and the patient
they are assembled into (:mod:`.patient`).

What maps where is documented in docs/fhir.md; the codes come from the reviewed tables of
``icaht/knowledge/fhir_maps``. A resource that cannot be mapped is counted in the
:class:`~icaht.io.fhir.import_report.ImportReport` with its reason, never guessed.
"""

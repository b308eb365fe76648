"""Stand-ins for the WIT types componentize-py generates
(``wit_world.imports.types``), with the same names, fields and field order, so
the SDK's conversions run natively."""

from dataclasses import dataclass, field
from enum import Enum
from typing import List, Optional


class Dtype(Enum):
    FLOAT16 = 0
    FLOAT32 = 1
    FLOAT64 = 2
    INT8 = 3
    INT16 = 4
    INT32 = 5
    INT64 = 6
    UINT8 = 7
    UINT16 = 8
    UINT32 = 9
    UINT64 = 10
    BOOLEAN = 11


@dataclass
class Tensor:
    dtype: Dtype
    shape: List[int]
    data: bytes


@dataclass
class NamedScore:
    name: str
    value: float
    op_name: Optional[str]
    description: Optional[str]
    ref_id: Optional[str]


@dataclass
class Document:
    id: str
    parent_id: Optional[str] = None
    granularity: Optional[int] = None
    adjacency: Optional[int] = None
    text: Optional[str] = None
    blob: Optional[bytes] = None
    tensor: Optional[Tensor] = None
    embedding: Optional[Tensor] = None
    uri: Optional[str] = None
    mime_type: Optional[str] = None
    tags: Optional[str] = None
    weight: Optional[float] = None
    modality: Optional[str] = None
    offset: Optional[float] = None
    location: List[float] = field(default_factory=list)
    scores: List[NamedScore] = field(default_factory=list)
    evaluations: List[NamedScore] = field(default_factory=list)
    chunks: List[int] = field(default_factory=list)
    matches: List[int] = field(default_factory=list)


@dataclass
class DocumentBatch:
    nodes: List[Document]
    roots: List[int]


@dataclass
class ExecutorError:
    name: str
    message: str
    details: Optional[str]
